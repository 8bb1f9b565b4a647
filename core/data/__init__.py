"""Reading and checking CSVs, QC, cleaning, variables and units, operating levels, the sample reservoir."""
