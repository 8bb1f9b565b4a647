"""Data page, screening: logger codes, absurd and out-of-range values with their date runs, and the operator's
out-of-range decision per stored variable. Thin: findings come from core.data.screen / core.app.screening.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.app.screening import FINDING_LABELS, Finding, decide_out_of_range, stored_findings
from core.data.config import MASK, OUT_OF_RANGE_DECISIONS
from core.data.report import Issue
from core.store.workspace import ReservoirInfo, Workspace
from pages import common as ui

K = "data_screen_"
ISSUE_KINDS = {"coded_run": "coded_run", "absurd_value": "absurd_value", "companion": "companion"}
RANGE_CODES = ("negative", "out_of_range")
RUN_COLUMNS = ["column", "finding", "first day", "last day", "days", "value"]


def runs_table(issues: tuple[Issue, ...]) -> pd.DataFrame:
    """One row per run of days of every screening finding in a file's report (first and last day)."""
    rows = []
    for issue in issues:
        kind = "out_of_range" if issue.code in RANGE_CODES else ISSUE_KINDS.get(issue.code)
        if kind is None or not issue.runs:
            continue
        for run in issue.runs:
            rows.append([issue.column or "", FINDING_LABELS[kind], run.first, run.last, run.days, run.shown()])
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def upload_findings(issues: tuple[Issue, ...]) -> None:
    """The file's screening findings as a table of date runs, under the report's warnings."""
    table = runs_table(issues)
    if table.empty:
        return
    st.caption("Logger codes and impossible values found in the file, by run of days (cleaning masks them):")
    ui.show_table(table)


def _finding_rows(findings: list[Finding]) -> pd.DataFrame:
    """One row per run of a stored variable's findings."""
    rows = [[f.variable, FINDING_LABELS[f.kind], r.first, r.last, r.days, r.shown()] for f in findings for r in f.runs]
    return pd.DataFrame(rows, columns=["variable", *RUN_COLUMNS[1:]])


def _decide(ws: Workspace, reservoir: str, variable: str, key: str) -> None:
    """Radio callback: store the decision; cleaning everywhere follows it from the next run on."""
    try:
        decide_out_of_range(ws, reservoir, variable, st.session_state[key])
    except ValueError as exc:
        st.session_state[f"{key}_error"] = str(exc)


def stored_screening(ws: Workspace, info: ReservoirInfo, variable: str) -> None:
    """Findings of the stored variable with their runs and, for out-of-range runs, the mask/keep/relative choice."""
    findings = stored_findings(ws, info.name, [variable])
    if not findings:
        return
    st.markdown("**Logger codes and impossible values**")
    ui.show_table(_finding_rows(findings))
    for finding in (f for f in findings if f.kind == "out_of_range"):
        key = f"{K}decision_{finding.variable}"
        if key not in st.session_state:
            st.session_state[key] = finding.decision or MASK
        note = (
            " Long runs like these are often a convention (storage counted from a pool bottom), not an error."
            if finding.long
            else ""
        )
        st.radio(
            f"{finding.count} {finding.variable} values are outside what a {finding.variable} can be.{note} "
            "What should cleaning do with them?",
            list(OUT_OF_RANGE_DECISIONS),
            format_func=lambda d: f"{d}: {OUT_OF_RANGE_DECISIONS[d]}",
            key=key,
            on_change=_decide,
            args=(ws, info.name, finding.variable, key),
            disabled=not ui.can("edit"),
            help="Stored per reservoir and variable; training, forecasts and charts follow it. "
            "CLI: python -m core qc --reservoir NAME --variable VAR --out-of-range mask|keep|relative",
        )
        if error := st.session_state.pop(f"{key}_error", None):
            st.error(ui.md_escape(error), icon=":material/error:")


if __name__ == "__main__":  # run on its own (Streamlit's pages/ discovery): the app, never this section alone
    ui.run_page()
