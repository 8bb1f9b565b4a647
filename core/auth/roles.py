"""Who may do what: the three roles, the actions each allows, and the actor a call is made for.

The rule lives here once. The workspace checks it on every write (core.store), so a page that forgot to hide a
button still cannot delete a version for a viewer; pages use `allows` only to hide what would be refused.
The CLI acts as LOCAL_ACTOR: whoever can run it already holds the workspace's files. A background run (a training
job's process, the daily cycle) writes as its own `system_actor`, so the activity log names the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from core.jsonio import AsDict


class Role(IntEnum):
    """Ordered roles: each one can do everything the ones below it can."""

    viewer = 1  # read, export
    operator = 2  # import, edit data and levels, train, activate, acknowledge alerts, run the cycle
    admin = 3  # delete versions, notification channels, users

    @classmethod
    def parse(cls, text: str) -> Role:
        """A role from its name; the error lists the valid ones."""
        try:
            return cls[str(text).strip().lower()]
        except KeyError:
            raise ValueError(f"Unknown role {text!r}; choose one of: {', '.join(r.name for r in cls)}.") from None


# action -> the least role that may do it (the one table of permissions)
PERMISSIONS: dict[str, Role] = {
    "read": Role.viewer,
    "export": Role.viewer,
    "import": Role.operator,
    "edit": Role.operator,  # revisions, curves, declared columns, settings kept per reservoir
    "levels": Role.operator,  # operating levels and the alert trigger
    "train": Role.operator,  # training and comparison jobs, saving versions
    "activate": Role.operator,
    "acknowledge": Role.operator,
    "cycle": Role.operator,
    "delete_version": Role.admin,
    "channels": Role.admin,
    "users": Role.admin,
}


class PermissionDenied(ValueError):
    """The signed-in user's role does not allow this action; the message says which role would."""


@dataclass(frozen=True)
class Actor(AsDict):
    """The person (or process) a workspace call is made for."""

    subject: str  # the OIDC subject ("sub"), or "local" for the CLI and a dashboard without sign-in
    name: str  # what the audit log and the sidebar show (email or name)
    role: Role

    def allows(self, action: str) -> bool:
        """True when this actor's role may do `action`."""
        return self.role >= required_role(action)

    def require(self, action: str) -> None:
        """Refuse an action the role does not allow, naming the role that would."""
        need = required_role(action)
        if self.role < need:
            raise PermissionDenied(
                f"{self.name} is signed in as {self.role.name}; '{action.replace('_', ' ')}' needs the "
                f"{need.name} role. Ask an administrator (python -m core users --add SUBJECT --role {need.name})."
            )


def required_role(action: str) -> Role:
    """The least role for an action; an action missing from the table is a programming error, never allowed."""
    try:
        return PERMISSIONS[action]
    except KeyError:
        raise KeyError(f"No permission rule for action {action!r}; add it to core.auth.roles.PERMISSIONS.") from None


LOCAL_ACTOR = Actor("local", "local user", Role.admin)


def system_actor(run: str, started_by: Actor | None = None) -> Actor:
    """Who a background run (a job, the daily cycle) writes as: named for the run, never more than an operator."""
    role = Role.operator if started_by is None else min(started_by.role, Role.operator)
    name = run if started_by is None else f"{run} (started by {started_by.name})"
    return Actor(f"system:{run}", name, Role(role))
