"""Operator revisions as user actions: mark a period bad, correct a value, undo, list; shared by Data page and CLI.

The store keeps the rule (core.store.revisions); this module reads what the operator typed (strictly: a typed value
is one plain number) and says who made the edit.
"""

from __future__ import annotations

import getpass
from typing import Any

import pandas as pd

from core.data.typed_numbers import NumberEntryError, parse_number_strict
from core.store.workspace import Revision, StoreError, Workspace


def current_user() -> str:
    """Who runs the CLI (the OS user), until sign-in names the session's user."""
    try:
        return getpass.getuser() or "unknown"
    except (OSError, KeyError, ImportError):  # no login name (some containers, services)
        return "unknown"


def edit_readings(
    ws: Workspace,
    reservoir: str,
    variable: str,
    start: str,
    end: str | None,
    *,
    missing: bool,
    value: str | float | None,
    reason: str,
    user: str,
) -> Revision:
    """Store one revision: either mark the days missing or set them to the typed value (exactly one of the two)."""
    typed = value is not None and str(value).strip() != ""
    if missing == typed:
        raise StoreError("Choose one: mark the period missing, or give the corrected value (not both, not neither).")
    number = None
    if typed:
        try:
            number = parse_number_strict(value)
        except NumberEntryError as exc:
            raise StoreError(f"The corrected value is not a number: {exc}") from None
    return ws.revise(reservoir, variable, start, end, value=number, reason=reason, user=user)


def undo_edit(ws: Workspace, reservoir: str, revision_id: int, user: str) -> Revision:
    """Take one revision back; the raw readings (and any earlier revision beneath it) show again."""
    return ws.undo_revision(reservoir, revision_id, user)


def revision_rows(revisions: list[Revision]) -> list[dict[str, Any]]:
    """Revisions as table rows, newest first (the Data page's audit table and `edits --json`)."""
    return [
        {
            "id": r.id,
            "variable": r.variable,
            "from": r.start,
            "to": r.end,
            "action": r.action,
            "value": r.value,
            "reason": r.reason,
            "user": r.user,
            "time": r.time,
            "active": r.active,
            "undone": r.undone,
            "undone_by": r.undone_by,
        }
        for r in reversed(revisions)
    ]


def revised_days(ws: Workspace, reservoir: str, variable: str) -> pd.DataFrame:
    """Raw and revised value of each day a revision changed (NaN = missing), for the chart's raw-vs-revised view."""
    name = ws.reservoir(reservoir).variable(variable).name
    raw = ws.readings(reservoir, [name], raw=True)[name]
    revised = ws.readings(reservoir, [name])[name]
    both = pd.DataFrame({"raw": raw, "revised": revised})
    differs = both["raw"].ne(both["revised"]) & ~(both["raw"].isna() & both["revised"].isna())
    return both.loc[differs]
