"""Leftovers of killed runs: temp files and folders named with their process id, removed once it is gone.

A backup, a restore or a cycle that is killed leaves its staging folder or temp file behind. Each is named
``<prefix><pid>-<random>`` (``tagged``), so the next start of the same command removes those whose process no
longer exists (``sweep``) and never touches one still at work.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from core.store.inuse import pid_alive


def tagged(prefix: str, random_chars: int = 12) -> str:
    """prefix + this process's id + a random part: a leftover name whose owner can be checked."""
    return f"{prefix}{os.getpid()}-{uuid.uuid4().hex[:random_chars]}"


def _owner(name: str, marker: str) -> int | None:
    """The process id in a leftover's name (<...marker><pid>-<random>), or None when it has none."""
    _, found, rest = name.partition(marker)
    pid = rest.split("-", 1)[0]
    return int(pid) if found and pid.isdigit() and "-" in rest else None


def sweep(folder: Path, markers: tuple[str, ...]) -> list[str]:
    """Remove entries of `folder` whose name carries one of `markers` and the id of a process that is gone."""
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        pids = [pid for m in markers if (pid := _owner(entry.name, m)) is not None]
        if pids and not pid_alive(pids[0]):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry.name)
    return removed
