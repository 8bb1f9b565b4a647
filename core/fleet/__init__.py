"""The daily cycle over a fleet: inbox import, the retrain rule, pure per-reservoir tasks and the engines running them.

Only `cycle` (the driver) writes the workspace; `tasks` runs anywhere (a Ray worker, a spawned process) from
plain inputs and returns plain outputs.
"""
