"""Forecast page, risk: the exceedance table (forecast days x operating levels, chance in %) under the chart.

Thin: the table is core.export.report.exceedance_frame (the same daily probabilities as the CSV export's P(...)
columns), with each level's cumulative chance ("by then": crossed on at least one day so far) beside it.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.export import files, report
from core.forecast.issue import Forecast
from pages import common as ui

EXPLAINED = (
    "For each forecast day and level, two chances. **That day**: the chance that the reading is beyond the level "
    "on that day (above a flood line, below a drought line). **By then**: the chance that it has been beyond the "
    "level on at least one day from the first forecast day up to that day; it only grows, and on the last day it "
    "is the chance the alert compares with its trigger, so it can be higher than any single day."
)


def _level_text(column: str) -> str:
    """'above 312 m' from 'Flood warning (above 312 m)'."""
    return column.split("(", 1)[-1].rstrip(")")


def column_config(frame: Any) -> dict[str, Any]:
    """Headers and help for the days x levels table: a narrow daily chance, then a bar for the chance by then."""
    config: dict[str, Any] = {
        files.DATE_COLUMN: st.column_config.TextColumn("Date", help="The forecast day (YYYY-MM-DD).", width="small"),
        files.LEAD_COLUMN: st.column_config.NumberColumn("Lead", help="Days after the issue date.", width="small"),
    }
    for col in frame.columns:
        if col in config:
            continue
        if col.endswith(report.BY_THEN):
            level = col[: -len(report.BY_THEN)]
            config[col] = st.column_config.ProgressColumn(
                "by then", help=f"{level}: chance of having been {_level_text(level)} on at least one day up to "
                "this day.", format="%.0f%%", min_value=0, max_value=100,
            )  # fmt: skip
        else:
            name = col.rsplit(" (", 1)[0]  # the level's name; its side and value are in the help and the CSV
            config[col] = st.column_config.NumberColumn(
                name, help=f"{col}: chance of being {_level_text(col)} on that day.", format="%.0f%%"
            )
    return config


def exceedance_section(forecast: Forecast) -> None:
    """Chance of being beyond each level on each forecast day and by then; nothing without levels or bands."""
    frame = report.exceedance_frame(forecast, cumulative=True)
    if frame.empty:
        return
    st.subheader("Chance of crossing each level")
    st.caption(EXPLAINED)
    ui.show_table(frame, column_config=column_config(frame))


if __name__ == "__main__":  # run on its own (Streamlit's pages/ discovery): the app, never this section alone
    ui.run_page()
