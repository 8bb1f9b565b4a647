"""`python -m core`: the command line, the top of core (above the daily cycle, core.fleet).

`main` parses and dispatches; each topic module (`ingest`, `store`, `notify`, `users`, `bulletin`, `whatif`,
`cycle`, `curves`, `edits`, `qc`) adds its sub-commands through an ``add_<topic>_command(s)`` hook using
`parts` (the shared emit and workspace hooks). Every command calls the same core functions the pages call.
"""
