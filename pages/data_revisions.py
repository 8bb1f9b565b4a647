"""Data page, stored data: revise a variable's readings (mark a period bad, correct a value), undo, and the audit.

Thin: widgets -> core.app.revise (the same functions as `python -m core edit` / `edits`) -> render. The raw readings
are kept; the chart above draws the revised series with the raw one beside it (core.charts.draw_raw).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from core import charts
from core.app.revise import current_user, edit_readings, revised_days, revision_rows, undo_edit
from core.store.workspace import ReservoirInfo, Revision, Workspace
from pages import common as ui

K = "data_rev_"  # widget key prefix: stable keys that tests set by name
MISSING, VALUE = "Mark the days missing (bad readings)", "Set a corrected value"


def draw_raw_beside(ws: Workspace, reservoir: str, variable: str, unit: str | None, fig: Any) -> bool:
    """Draw the raw readings over the revised chart when the operator asks (on by default once a revision applies);
    returns whether any revision applies to the variable."""
    changed = revised_days(ws, reservoir, variable)
    if changed.empty:
        return False
    if st.toggle(
        "Draw the raw readings too",
        value=True,
        key=f"{K}raw_{variable}",
        help="The chart shows the revised series (what cleaning and training use); this adds the readings as "
        "imported (dotted grey) and marks each revised day (star).",
    ):
        raw = ws.readings(reservoir, [variable], raw=True)[variable]
        charts.draw_raw(fig, raw, changed, unit)
    return True


def _save(ws: Workspace, reservoir: str, variable: str) -> None:
    """Save button callback: store the revision the inputs describe; the outcome is flashed for the next run."""
    state = st.session_state
    start, end = state.get(f"{K}from"), state.get(f"{K}to")
    try:
        rev = edit_readings(
            ws,
            reservoir,
            variable,
            start.isoformat() if start else "",
            end.isoformat() if end else None,
            missing=state.get(f"{K}action") == MISSING,
            value=state.get(f"{K}value") if state.get(f"{K}action") == VALUE else None,
            reason=state.get(f"{K}reason", ""),
            user=state.get(f"{K}user", ""),
        )
    except ValueError as exc:
        ui.flash(f"{K}saved", exc)
        return
    ui.flash(f"{K}saved", f"Saved revision #{rev.id}: {rev.describe()}. The raw readings are kept.")
    state[f"{K}reason"] = ""


def _undo(ws: Workspace, reservoir: str) -> None:
    """Undo button callback: take the chosen revision back."""
    revision_id = st.session_state.get(f"{K}undo_id")
    if revision_id is None:
        return
    try:
        rev = undo_edit(ws, reservoir, int(revision_id), st.session_state.get(f"{K}user", "") or current_user())
    except ValueError as exc:
        ui.flash(f"{K}undone", exc)
        return
    ui.flash(f"{K}undone", f"Undone revision #{rev.id}; the readings beneath it show again.")


def _span(info: ReservoirInfo, variable: str) -> tuple[dt.date, dt.date]:
    """The variable's stored first and last day (the date pickers' range and default)."""
    v = info.variable(variable)
    last = dt.date.fromisoformat(v.last) if v.last else dt.date.today()
    first = dt.date.fromisoformat(v.first) if v.first else last
    return first, last


def _form(ws: Workspace, info: ReservoirInfo, variable: str, unit: str | None) -> None:
    """From/to days, missing or a value, why and who, and the Save button."""
    first, last = _span(info, variable)
    left, right = st.columns(2)
    left.date_input("From", value=last, key=f"{K}from", help="First day to revise.", format="YYYY-MM-DD")
    right.date_input(
        "To", value=last, key=f"{K}to", help="Last day to revise (the same day for one reading).", format="YYYY-MM-DD"
    )
    action = st.radio("What to do", (MISSING, VALUE), key=f"{K}action", horizontal=True)
    if action == VALUE:
        st.text_input(
            f"Corrected {variable}" + (f" ({unit})" if unit else ""),
            key=f"{K}value",
            help="One number with a decimal point, e.g. 313.25 (no thousands marks); every chosen day gets it.",
        )
    st.text_input("Why", key=f"{K}reason", max_chars=200, help="Kept with the revision, e.g. 'logger fault'.")
    signed_in = ui.signed_in_name()
    if f"{K}user" not in st.session_state or signed_in:
        st.session_state[f"{K}user"] = signed_in or current_user()
    st.text_input(
        "Who",
        key=f"{K}user",
        max_chars=80,
        disabled=signed_in is not None,
        help="Kept with the revision: the signed-in user, or (without sign-in) who runs the dashboard.",
    )
    st.caption(f"Stored {variable} readings run {first} to {last}.")
    st.button(
        "Save revision",
        key=f"{K}save",
        type="primary",
        icon=":material/edit:",
        on_click=_save,
        args=(ws, info.name, variable),
        help="Store the revision; the raw readings are kept, and cleaning, training and charts use the revised ones.",
    )
    ui.show_flash(f"{K}saved")


def _table(revisions: list[Revision]) -> None:
    """The audit of this variable's revisions, newest first, undone ones included."""
    rows = revision_rows(revisions)
    frame = pd.DataFrame(rows, columns=["id", "from", "to", "action", "value", "reason", "user", "time", "undone"])
    frame["value"] = frame["value"].astype(object).where(frame["value"].notna(), "")  # a 'missing' revision has none
    frame["time"] = [ui.fmt_time(t) for t in frame["time"]]
    frame["undone"] = [ui.fmt_time(t) if t else "" for t in frame["undone"]]
    ui.show_table(frame.rename(columns={"id": "revision #"}))


def _undo_row(ws: Workspace, reservoir: str, revisions: list[Revision]) -> None:
    """Pick an applied revision and take it back."""
    active = [r for r in reversed(revisions) if r.active]
    if not active:
        return
    labels = {r.id: r.describe() for r in active}
    pick, button = st.columns([3, 1], vertical_alignment="bottom")
    pick.selectbox("Revision to undo", list(labels), format_func=labels.get, key=f"{K}undo_id")
    button.button(
        "Undo",
        key=f"{K}undo",
        icon=":material/undo:",
        on_click=_undo,
        args=(ws, reservoir),
        help="Take the revision back; it stays in the audit, marked undone.",
    )


def revisions_section(ws: Workspace, info: ReservoirInfo, variable: str, unit: str | None) -> None:
    """The revise form, the undo picker and the audit table for the charted variable."""
    revisions = ws.revisions(info.name, variable)
    applied = sum(r.active for r in revisions)
    title = f"Revise {variable} readings ({applied} revision{'s' if applied != 1 else ''} applied)"
    with st.expander(ui.md_escape(title), icon=":material/edit_note:", expanded=bool(revisions)):
        st.caption(
            "Mark a period as bad or correct a value. The raw readings are kept; cleaning, training, forecasts and "
            "charts use the revised series. Who, when and why are stored, and a revision can be undone."
        )
        editable = ui.allowed("edit", "Revising readings")
        if editable:
            _form(ws, info, variable, unit)
        if revisions and editable:
            _undo_row(ws, info.name, revisions)
            ui.show_flash(f"{K}undone")  # also after the last applied revision was undone
            _table(revisions)


if __name__ == "__main__":  # run on its own (Streamlit's pages/ discovery): the app, never this section alone
    ui.run_page()
