"""Reservoir Sentinel dashboard: routes to the pages and keeps the shared reservoir picker."""

from __future__ import annotations

import streamlit as st

from pages import access
from pages.common import base_workspace, ensure_started, reservoir_picker, shell

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
    """Page config, navigation, sign-in, first-start set-up and the sidebar reservoir picker, then the page."""
    st.set_page_config(page_title="Reservoir Sentinel", page_icon=":material/water:", layout="wide")
    who = access.signed_in_actor(base_workspace())
    # The navigation comes first, on every run, signed in or not (hidden until someone may see data): a run that
    # never calls st.navigation would show Streamlit's own list of every file in pages/.
    admin = who is None or who.allows("users")  # hidden for a visitor, so a bookmarked /admin is still a known page
    nav = st.navigation(PAGES + (ADMIN_PAGES if admin else []), position="sidebar" if who else "hidden")
    actor = access.gate(base_workspace())  # stops here for an anonymous visitor or a user without a role
    ensure_started()
    reservoir_picker()
    access.sidebar_identity(actor)
    with shell():
        nav.run()


main()
