"""Data page, water balance: does the stored storage change match inflow minus release? Thin: the check is
core.data.balance (via core.app.screening.stored_balance), the same one `python -m core inspect FILE` prints.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.app.screening import stored_balance
from core.data.balance import BalanceCheck, amount
from core.display import significant
from core.store.workspace import ReservoirInfo, Workspace
from pages import common as ui

K = "data_balance_"
HELP = (
    "A reservoir's books must close: storage today = storage yesterday + inflow - release - losses. The check "
    "fits that balance on this record (the factors absorb unit conversions, the loss term evaporation and "
    "seepage) and learns from the record how far a normal day strays. It flags **days** far outside that, and "
    "**periods** where the difference keeps adding up in one direction for weeks: the clue that a gauge drifted "
    "or a record is missing. R² says how much of the day-to-day storage change the flows explain."
)
KIND_WORDS = {"day": "day(s)", "drift": "period"}


def findings_table(check: BalanceCheck) -> pd.DataFrame:
    """One row per finding: kind, first and last day, how far storage strayed from the flows, what to suspect."""
    rows = [
        {
            "finding": KIND_WORDS[f.kind],
            "first day": f.first,
            "last day": f.last,
            "days": f.days,
            "storage rose, against inflow − release": f"{amount(abs(f.size), check.unit)} {_more_or_less(f.size)}",
            "what to suspect": f.clue,
        }
        for f in check.findings
    ]
    return pd.DataFrame(rows)


def _more_or_less(size: float) -> str:
    """'more' when storage rose more than the flows explain, else 'less'."""
    return "more" if size > 0 else "less"


def _score(check: BalanceCheck) -> None:
    """The closure score as three metrics and the fitted balance in words."""
    fit = check.fit
    ui.metric_row(
        [
            {"label": "Records", "value": (check.verdict or "").replace("close the balance", "close").capitalize()},
            {
                "label": "R² of the balance",
                "value": f"{fit.r2:.2f}",
                "help": "1 = the flows explain every day's storage change.",
            },
            {
                "label": "Days within tolerance",
                "value": f"{check.within_share:.0%}",
                "help": f"Within ±{amount(check.day_tolerance or 0.0, check.unit)} of the fitted balance.",
            },
        ]
    )
    loss = amount(abs(fit.c), check.unit)
    st.caption(
        ui.md_escape(
            f"Fitted on {fit.days:,} days: storage change = {significant(fit.a)} × inflow − "
            f"{significant(fit.b)} × release {'−' if fit.c >= 0 else '+'} {loss} per day ({fit.alignment} alignment)."
        )
    )


def balance_section(ws: Workspace, info: ReservoirInfo) -> None:
    """The water-balance check of the selected reservoir's stored readings."""
    st.markdown("**Water balance**", help=HELP)
    st.caption(
        "Does each day's change in storage match inflow minus release? Days and periods where it does not point "
        "to a drifting gauge or a missing record (hover the ? for how the tolerance is learned)."
    )
    check = stored_balance(ws, info.name)
    if not check.available or check.fit is None:
        st.caption(ui.md_escape(f"Water-balance check not run: {check.reason}."))
        return
    _score(check)
    if not check.findings:
        st.success("Storage changes match inflow minus release on every day and period.", icon=":material/check:")
        return
    if check.verdict == "close the balance poorly":
        st.warning(
            "The flows explain little of the storage change: check that inflow and release belong to this "
            "reservoir and are in a flow unit, and read the findings below with that in mind.",
            icon=":material/warning:",
        )
    st.caption(f"{len(check.drifts)} period(s) and {len(check.days)} short run(s) of days, largest first:")
    ui.show_table(findings_table(check), key=f"{K}findings")


if __name__ == "__main__":  # run on its own (Streamlit's pages/ discovery): the app, never this section alone
    ui.run_page()
