"""Model versions as the workspace records them: which versions exist, which reservoirs each serves, which is active.

The files of a version (folder layout, meta.json, checksums, saving, loading, archives) are core.registry's; this
contract is the rows. A version has its own id and serves one reservoir or several (the link table); each link
carries the number operators see for that reservoir ("version 3"), never reused there, and whether the version is
active there. `adopt_folder` registers a fully written temp folder in ONE write transaction: numbers allocated,
meta.json's number written, the folder renamed into place (a folder there that no row knows is quarantined, never
deleted) and the rows inserted; a failure leaves the temp folder unregistered for the caller to remove. Leftovers
of killed saves are swept when a writer starts (``clean_leftovers``). The training lock (core.store.locks) allows
one training per reservoir; a training across several reservoirs holds each of theirs.
`Versions` is the contract; core.store.sqlite.versions implements it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from core.registry import LEFTOVER_AGE_S, SINGLE, Leftovers, LoadedModel, ModelVersion
from core.store.locks import LockHolder

if TYPE_CHECKING:
    from core.model.train import TrainResult

Reservoirs = str | Sequence[str]  # one reservoir, or every reservoir a version serves
Scores = float | Mapping[str, float | None] | None  # validation MAE: one, or per reservoir served


def as_names(reservoirs: Reservoirs) -> list[str]:
    """One reservoir or several as a list of names (a string is one name, never its letters)."""
    names = [reservoirs] if isinstance(reservoirs, str) else list(reservoirs)
    if not names:
        raise ValueError("Name at least one reservoir.")
    return names


@runtime_checkable
class Versions(Protocol):
    """Model version rows and the links saying which reservoirs each version serves (files: core.registry)."""

    def versions(self, reservoir: str) -> list[ModelVersion]:
        """All versions serving a reservoir, by its number, oldest first."""
        ...

    def version(self, reservoir: str, version: int | None = None) -> ModelVersion:
        """One version by its number for this reservoir; None means the active one (a StoreError when none)."""
        ...

    def active_version(self, reservoir: str) -> ModelVersion | None:
        """The version forecasts use, or None when the reservoir has no model yet."""
        ...

    def active_versions(self) -> dict[str, ModelVersion]:
        """Every reservoir's active version by name in one query (the fleet view reads 100+ at once)."""
        ...

    def served_by(self, version_id: int) -> list[ModelVersion]:
        """The version as each reservoir it serves sees it (one entry per link), by reservoir name."""
        ...

    def activate(self, reservoir: str, version: int) -> None:
        """Make one version the model used for this reservoir's forecasts (its others become inactive)."""
        ...

    def delete_version(self, reservoir: str, version: int) -> None:
        """Stop an inactive version serving this reservoir; its row and folder go with its last link."""
        ...

    def new_tmp_folder(self, reservoirs: Reservoirs) -> Path:
        """An empty hidden folder beside the version's final place, to write it into before adopt_folder."""
        ...

    def adopt_folder(self, reservoirs: Reservoirs, tmp: Path, meta: dict[str, Any], val_mae: Scores,
                     activate: bool | None, *, kind: str = SINGLE, parent_id: int | None = None) -> ModelVersion:
        """Register a fully written temp folder as a new version serving `reservoirs`, in one transaction; returns
        it as the first reservoir sees it (activate=None applies beats_active per reservoir)."""
        ...

    def link(self, version_id: int, reservoir: str, val_mae: float | None = None,
             meta: Mapping[str, Any] | None = None, activate: bool | None = None) -> ModelVersion:
        """Let an existing version also serve `reservoir` (a cold start served by a fleet version), with the next
        number there and this reservoir's own part of its meta."""
        ...

    def save_version(self, reservoir: str, result: TrainResult, activate: bool | None = None,
                     extra: dict[str, Any] | None = None) -> ModelVersion:
        """Write a one-reservoir training's files (core.registry) and adopt them; a failed save leaves nothing."""
        ...

    def load_version(self, reservoir: str, version: int | None = None) -> LoadedModel:
        """Load a registered version for this reservoir (None = active) after checking its files; safe_mode on."""
        ...

    def training_lock(self, *reservoirs: str) -> AbstractContextManager[None]:
        """Hold the training lock of every named reservoir for the block, or refuse at once naming the holder."""
        ...

    def training_holder(self, reservoir: str) -> LockHolder | None:
        """Who trains this reservoir right now (pid and start), or None: lets a page refuse before launching."""
        ...

    def clean_leftovers(self, older_than_s: float = LEFTOVER_AGE_S) -> Leftovers:
        """Remove temp folders of killed saves and quarantine version folders no row knows (one log line each)."""
        ...

