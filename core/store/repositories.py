"""The workspace's repositories by concern, each a contract (typing.Protocol) any backend implements.

`Repositories` is what a backend hands out for one actor; `ROUTES` says which repository answers each public
method, so ``ws.merge(...)``, ``ws.versions(...)`` and every other ``ws.<method>`` call reaches the one repository
that owns it (core.store.workspace). A method name belongs to exactly one contract (tests/test_store_contract.py).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from core.store.cycles import Cycles
from core.store.jobs import Jobs
from core.store.notices import Notices
from core.store.readings import Readings
from core.store.users import Users
from core.store.versions import Versions

CONTRACTS: dict[str, type] = {
    "readings": Readings,
    "versions": Versions,
    "jobs": Jobs,
    "notices": Notices,
    "cycles": Cycles,
    "users": Users,
}


@dataclass(frozen=True)
class Repositories:
    """One implementation of each contract, sharing one workspace and made for one actor."""

    readings: Readings
    versions: Versions
    jobs: Jobs
    notices: Notices
    cycles: Cycles
    users: Users

    def __post_init__(self) -> None:
        for f in fields(self):
            repo, contract = getattr(self, f.name), CONTRACTS[f.name]
            if not isinstance(repo, contract):
                raise TypeError(f"{type(repo).__name__} does not implement {contract.__name__}.")


def methods(contract: type) -> list[str]:
    """The public methods a contract declares, in declaration order."""
    return [name for name, value in vars(contract).items() if callable(value) and not name.startswith("_")]


ROUTES: dict[str, str] = {name: concern for concern, contract in CONTRACTS.items() for name in methods(contract)}
