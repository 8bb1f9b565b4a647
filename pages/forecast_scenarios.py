"""Forecast page, what-if: planned releases for the forecast days and the storage forecast each would give.

Thin: widgets -> core.app.whatif.what_if (the CLI's `forecast --what-if` path) -> a table and a chart. When the
reservoir or model cannot run scenarios (no release record, a level model) the section says why instead.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core import display
from core.app.whatif import RELEASE, unavailable_reason, what_if
from core.charts.scenarios import scenario_figure
from core.forecast.issue import Forecast
from core.forecast.scenario import ReleasePlan, ScenarioError, WhatIf, plan
from pages import common as ui

K = "forecast_whatif_"  # widget keys the page tests set by name
KINDS = ("Same every day", "Per day", "Recorded")  # recorded: the releases actually made (hindcasts only)
MAX_SCENARIOS = 3
ABOUT = (
    "Enter the releases you plan for the forecast days and see where storage would go. Each scenario starts "
    "from the model's forecast (which assumes today's release carries on) and moves it by the release effect "
    "learned from this reservoir's own records: how much the model's past forecasts missed by when more or less "
    "was released (the water balance is its starting point). Every extra unit released lowers storage or leaves "
    "it unchanged, so a larger release never gives a higher forecast. Bands come from past forecasts told "
    "the releases actually made, so they show how far such a scenario has missed before."
)


@st.cache_data(show_spinner=False, max_entries=32)
def _what_if(
    root: str, reservoir: str, version: int, as_of: str | None, plans: tuple[ReleasePlan, ...], stamp: str, risk: str
) -> WhatIf:
    """One set of scenarios per reservoir/version/issue day/plans/data state (root, stamp, risk key the cache)."""
    return what_if(ui.workspace(), reservoir, plans, version=version, as_of=as_of,
                   loaded=ui.loaded_model(reservoir, version))  # fmt: skip


def _release_today(reservoir: str, issued: str) -> float:
    """The release recorded on the issue day (the default rate to start planning from)."""
    series = ui.readings(reservoir, (RELEASE,))[RELEASE].dropna()
    series = series.loc[:issued]
    return float(series.iloc[-1]) if not series.empty else 0.0


def _plan_inputs(i: int, forecast: Forecast, hindcast: bool, today: float, unit: str) -> ReleasePlan | None:
    """One scenario's widgets: how the release is given and its rate(s); None when the entry is incomplete."""
    kinds = KINDS if hindcast else KINDS[:2]
    kind = st.radio("Release", kinds, key=f"{K}kind_{i}", horizontal=True,
                    help="'Recorded' replays the releases actually made (only for a past as-of date).")  # fmt: skip
    name = st.text_input("Name", value=f"Scenario {i + 1}", key=f"{K}name_{i}", max_chars=40)
    if kind == "Recorded":
        return plan(name or f"Scenario {i + 1}", None)
    default = round(today * (1 + 0.5 * i), 6)
    if kind == "Same every day":
        rate = st.number_input(f"Release ({unit})", min_value=0.0, value=default, key=f"{K}rate_{i}", format="%g")
        return plan(name or f"Scenario {i + 1}", [rate])
    days = pd.DataFrame({"date": [p.date for p in forecast.points], f"release ({unit})": default})
    edited = st.data_editor(
        days, key=f"{K}days_{i}", hide_index=True, disabled=["date"],
        column_config={f"release ({unit})": st.column_config.NumberColumn(min_value=0.0, format="%g")},
    )  # fmt: skip
    rates = edited[f"release ({unit})"].to_list()
    if any(pd.isna(r) for r in rates):
        st.caption("Fill in every day's release.")
        return None
    return plan(name or f"Scenario {i + 1}", rates)


def _table(result: WhatIf) -> pd.DataFrame:
    """The scenario rows for the screen: numbers rounded for reading, the band as 'low - high'."""
    rows = []
    for row in result.table():
        out: dict[str, Any] = {}
        for key, value in row.items():
            if key == "day 80 % band":
                out["80 % band, last day"] = (
                    "-" if value is None else f"{display.number(value[0])} - {display.number(value[1])}"
                )
            elif key.endswith("median"):
                out[f"{key} ({result.unit or 'storage'})"] = display.number(value)
            else:
                out[key] = value if value is not None else "-"
        rows.append(out)
    return pd.DataFrame(rows)


def scenario_section(forecast: Forecast, hindcast: bool) -> None:
    """The what-if section under the forecast: scenario inputs side by side, then their table and chart."""
    st.subheader("What if we release more (or less)?")
    st.caption(ABOUT)
    ws = ui.workspace()
    reason = unavailable_reason(ws, forecast.reservoir, forecast.target)
    if reason:
        st.info(reason, icon=":material/info:")
        return
    unit = ui.unit_of(forecast.reservoir, RELEASE) or "release unit"
    today = _release_today(forecast.reservoir, forecast.issued)
    count = int(st.number_input("Scenarios side by side", 1, MAX_SCENARIOS, 2, key=f"{K}count"))
    plans = []
    for i, col in enumerate(st.columns(count)):
        with col:
            try:
                p = _plan_inputs(i, forecast, hindcast, today, unit)
            except ScenarioError as exc:
                ui.show_error(exc)
                p = None
            if p is not None:
                plans.append(p)
    if not plans:
        return
    names = [p.name for p in plans]
    if len(set(names)) < len(names):
        st.warning("Give each scenario its own name.")
        return
    try:
        result = _what_if(str(ws.root), forecast.reservoir, forecast.version, forecast.issued if hindcast else None,
                          tuple(plans), ui.data_stamp(forecast.reservoir), ui.risk_key(forecast.reservoir))  # fmt: skip
    except ValueError as exc:
        ui.show_error(exc)
        return
    st.caption(
        f"Today's release: {display.number(result.assumed_release, unit)}. " + result.words()
    )
    ui.show_table(_table(result))
    ui.show_chart(scenario_figure(result), f"{forecast.reservoir}-what-if-{forecast.issued}", f"{K}chart")


if __name__ == "__main__":  # run on its own (Streamlit's pages/ discovery): the app, never this section alone
    ui.run_page()
