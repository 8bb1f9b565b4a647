"""The one role guard every writing repository applies, whatever the backend.

The rule: every public method of a repository that changes the database or its files calls ``guard`` before the
change. Changes someone made (imports, versions, jobs' status, cycle results, deliveries...) pass a `log` writing
one activity row in the change's own transaction, so the row and the change commit together; progress of
something already logged (a job's epochs and messages, claiming a delivery, holding the training lock, a temp
folder for a save) passes none: checked, not logged again. A backend supplies only how the row is written
(core.store.sqlite.base). tests/test_write_guard.py runs every public repository method as a viewer and fails on a
writer that skips it.
"""

from __future__ import annotations

from collections.abc import Callable

from core.auth.roles import Actor

# (subject, name, role, action, reservoir, detail) -> None: writes one activity row in the change's transaction
ActivityLog = Callable[[str, str, str, str, str | None, str], None]


def guard(actor: Actor, action: str, log: ActivityLog | None, reservoir: str | None = None, detail: str = "") -> None:
    """Refuse `actor` when its role may not do `action` (PermissionDenied); else log who did what when asked."""
    actor.require(action)
    if log is not None:
        log(actor.subject, actor.name, actor.role.name, action, reservoir, detail)
