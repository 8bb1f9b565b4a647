"""Users and the activity log: the role of each signed-in subject, and who did what, when.

The dashboard's sign-in (Streamlit's OIDC `st.login`) says who someone is; this repository says what they may do. A
subject missing here sees no data. Every write of the workspace checks the acting user's role first
(core.store.guard) and writes one activity row in the same transaction, so the log cannot miss a change that
happened. `Users` is the contract; core.store.sqlite.users implements it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from core.auth.roles import Actor, Role
from core.jsonio import AsDict


@dataclass(frozen=True)
class UserRecord(AsDict):
    """One user as the admin page and `users --list` show it."""

    subject: str
    role: str
    name: str
    added: str
    added_by: str


@dataclass(frozen=True)
class Activity(AsDict):
    """One logged action: who (subject, name, role), what, on which reservoir, and the detail in words."""

    id: int
    time: str
    subject: str
    name: str
    role: str
    action: str
    reservoir: str | None
    detail: str


@runtime_checkable
class Users(Protocol):
    """Who may do what, and what was done (the activity log)."""

    def users(self) -> list[UserRecord]:
        """Every user with a role, by subject."""
        ...

    def set_user(self, subject: str, role: Role | str, name: str = "") -> UserRecord:
        """Give a subject a role (adding or changing it); admins only."""
        ...

    def remove_user(self, subject: str) -> None:
        """Take a subject's role away; admins only (an unknown subject is a StoreError listing the known ones)."""
        ...

    def actor_for(self, subject: str, name: str = "") -> Actor | None:
        """The signed-in subject as an Actor with its stored role, or None when no administrator added it."""
        ...

    def activity(self, limit: int = 200, reservoir: str | None = None) -> list[Activity]:
        """The most recent logged actions, newest first (optionally of one reservoir)."""
        ...
