"""Reservoir Sentinel dashboard: routes to the pages and keeps the shared reservoir picker."""

from __future__ import annotations

import streamlit as st

from pages.common import ensure_started, reservoir_picker

PAGES = [
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/upload_file:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/forecast.py", title="Forecast", icon=":material/timeline:"),
    st.Page("pages/levels.py", title="Levels & alerts", icon=":material/warning:"),
    st.Page("pages/models.py", title="Models", icon=":material/inventory_2:"),
]


def main() -> None:
    """Page config, first-start set-up, navigation and the sidebar reservoir picker."""
    st.set_page_config(page_title="Reservoir Sentinel", page_icon=":material/water:", layout="wide")
    ensure_started()
    nav = st.navigation(PAGES)
    reservoir_picker()
    nav.run()


main()
