"""Reservoir Sentinel dashboard: routes to the pages and keeps the shared reservoir picker."""

from __future__ import annotations

import streamlit as st

from pages import access
from pages.common import base_workspace, ensure_started, reservoir_picker

PAGES = [
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/upload_file:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/forecast.py", title="Forecast", icon=":material/timeline:"),
    st.Page("pages/levels.py", title="Levels & alerts", icon=":material/warning:"),
    st.Page("pages/models.py", title="Models", icon=":material/inventory_2:"),
    st.Page("pages/alerts.py", title="Alerts", icon=":material/notifications:"),
    st.Page("pages/settings.py", title="Settings", icon=":material/settings:"),
]
ADMIN_PAGES = [  # shown to administrators only (core refuses their actions to anyone else anyway)
    st.Page("pages/admin.py", title="Users & activity", icon=":material/admin_panel_settings:"),
]


def main() -> None:
    """Page config, sign-in, first-start set-up, navigation and the sidebar reservoir picker."""
    st.set_page_config(page_title="Reservoir Sentinel", page_icon=":material/water:", layout="wide")
    actor = access.gate(base_workspace())  # stops here for an anonymous visitor or a user without a role
    ensure_started()
    nav = st.navigation(PAGES + (ADMIN_PAGES if actor.allows("users") else []))
    reservoir_picker()
    access.sidebar_identity(actor)
    nav.run()


main()
