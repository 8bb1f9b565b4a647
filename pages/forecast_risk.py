"""Forecast page, risk: the exceedance table (forecast days x operating levels, chance in %) under the chart.

Thin: the table is core.export.report.exceedance_frame (the same probabilities as the CSV export's P(...) columns).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.export import files, report
from core.forecast.issue import Forecast
from pages import common as ui


def exceedance_section(forecast: Forecast) -> None:
    """Chance of being beyond each level on each forecast day; nothing when there are no levels or no bands."""
    frame = report.exceedance_frame(forecast)
    if frame.empty:
        return
    st.subheader("Chance of crossing each level")
    st.caption(
        "For each forecast day, the chance that the reading is beyond the level: above a flood line, below a "
        "drought line. The alert compares the chance of crossing at any time within the forecast days with the "
        "trigger, so it can be higher than any single day here."
    )
    config: dict[str, Any] = {
        files.DATE_COLUMN: st.column_config.TextColumn("Date", help="The forecast day (YYYY-MM-DD)."),
        files.LEAD_COLUMN: st.column_config.NumberColumn("Lead", help="Days after the issue date.", width="small"),
    }
    for col in frame.columns:
        if col not in config:
            config[col] = st.column_config.ProgressColumn(
                col, help=f"Chance of being {col.split('(', 1)[-1].rstrip(')')}.", format="%.0f%%", min_value=0,
                max_value=100,
            )  # fmt: skip
    ui.show_table(frame, column_config=config)
