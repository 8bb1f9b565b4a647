"""Reading and checking CSVs, QC, cleaning, variables and units, operating levels, the sample reservoir.

ingest runs a CSV import (read_csv) through reading (bytes to text cells), dates, numbers, daily (one row per
day) and checks (warnings), phrasing every finding with report (Issue, ValidationReport).
"""
