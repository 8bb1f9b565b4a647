"""Users & activity page (administrators): who may sign in with which role, and the log of who did what."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.auth.roles import PERMISSIONS, Role
from core.store.workspace import StoreError
from pages import common as ui

K = "admin_"  # widget key prefix: stable keys that tests set by name
ROLE_WORDS = {
    "viewer": "read and export",
    "operator": "also import, edit data and levels, train, activate, acknowledge alerts, run the cycle",
    "admin": "also delete versions, notification channels and users",
}


def _roles_table() -> pd.DataFrame:
    """What each role may do, from the one permission table in core."""
    rows = []
    for role in Role:
        actions = ", ".join(a.replace("_", " ") for a, need in PERMISSIONS.items() if need == role)
        rows.append({"Role": role.name, "May": ROLE_WORDS[role.name], "Actions added": actions})
    return pd.DataFrame(rows)


def _users_section() -> None:
    """The users with a role, and the form that adds, changes or removes one."""
    ws = ui.workspace()
    users = ws.users()
    st.subheader(f"Users ({len(users)})")
    st.caption(
        "A person signs in with the organisation's account; the subject ('sub') identifies them. Someone without "
        "a role sees an 'ask an administrator' page that shows their subject to send you."
    )
    if users:
        ui.show_table(pd.DataFrame([u.to_dict() for u in users]))
    with st.form(K + "add", clear_on_submit=True):
        cols = st.columns([3, 2, 3])
        subject = cols[0].text_input("Subject (sub)", key=K + "subject")
        role = cols[1].selectbox("Role", [r.name for r in Role], key=K + "role")
        name = cols[2].text_input("Name or email (optional)", key=K + "name")
        if st.form_submit_button("Add or change user"):
            try:
                ws.set_user(subject, role, name)
                ui.flash(K + "done", f"{subject.strip()} is now {role}.")
            except (StoreError, ValueError) as exc:
                ui.flash(K + "done", exc)
            st.rerun()
    if users:
        cols = st.columns([3, 2])
        gone = cols[0].selectbox("Remove a user", [u.subject for u in users], key=K + "remove")
        if cols[1].button("Remove", key=K + "remove_go"):
            try:
                ws.remove_user(gone)
                ui.flash(K + "done", f"{gone} removed: they now see the 'ask an administrator' page.")
            except StoreError as exc:
                ui.flash(K + "done", exc)
            st.rerun()


def _activity_section() -> None:
    """Who did what: imports, edits, level and trigger changes, trainings, activations, deletions, channels, users."""
    rows = ui.workspace().activity(limit=500)
    st.subheader("Activity")
    st.caption("Every change to the workspace with who made it, newest first (the last 500).")
    if not rows:
        st.info("Nothing recorded yet.")
        return
    frame = pd.DataFrame([a.to_dict() for a in rows]).drop(columns=["id", "subject"])
    ui.show_table(frame.rename(columns=str.capitalize))


def render() -> None:
    """The page: roles explained, users, activity."""
    ui.page_header("Users & activity", "Who may use this dashboard with which role, and who changed what.")
    if not ui.can("users"):
        st.warning("Only administrators manage users.")
        return
    ui.show_flash(K + "done")
    with st.expander("What each role may do"):
        ui.show_table(_roles_table())
    _users_section()
    _activity_section()


if __name__ == "__main__":
    ui.run_page(render)
