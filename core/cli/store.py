"""`python -m core backup | restore | repair`: keep a workspace safe and bring a damaged one back.

Kept apart from core.cli.main (see cli_curves.py for the pattern); the work is in core.store.backup and
core.store.repair. restore and repair never open the target workspace first: it may be damaged or empty.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.cli.parts import Emit, WorkspaceOf
from core.store.backup import backup, restore
from core.store.common import resolve_workspace
from core.store.repair import repair

BACKUP_HELP = "write the database and every model version into one .tar.gz (the app may keep running)"
RESTORE_HELP = "restore a backup into a workspace folder (verifies every checksum first)"
REPAIR_HELP = "rebuild a damaged database's reservoirs and model versions from the model folders"
REPAIR_DESCRIPTION = (
    "When sentinel.db is missing, empty, unreadable or malformed, move it aside (sentinel.db.damaged-<time>, "
    "never deleted) and build a new one from every models/r<id>/v<N>/meta.json: reservoirs and model versions "
    "come back, each reservoir's best version (validation MAE) active. Readings, levels, uploads and the audit "
    "trail cannot be rebuilt from the folders: re-import the CSV files afterwards, or restore a backup instead. "
    "A sound database is left alone unless --force."
)


def _root(args: argparse.Namespace) -> Path:
    """The workspace folder named by --workspace, SENTINEL_WORKSPACE or ./workspace (not opened)."""
    return resolve_workspace(args.workspace)


def cmd_backup(args: argparse.Namespace, emit: Emit, workspace: WorkspaceOf) -> int:
    """Back up the workspace into one archive."""
    ws = workspace(args)  # opening it first refuses a damaged workspace with its own message
    result = backup(ws.root, ws.db_path, Path(args.out))
    lines = [
        f"backup written to {result.path} ({result.bytes / 1e6:.1f} MB): "
        f"{result.reservoirs} reservoirs, {result.versions} model versions"
    ]
    lines += [f"  warning: {rel} is registered but its folder is missing (row kept)" for rel in result.missing]
    emit(args, result.to_dict(), lines)
    return 0


def cmd_restore(args: argparse.Namespace, emit: Emit, workspace: WorkspaceOf) -> int:
    """Restore a backup file, then open the result to prove it works."""
    result = restore(Path(args.file), _root(args), force=args.force)
    ws = workspace(args)
    lines = [f"restored {args.file} (made {result.created}) into {result.workspace}: {result.versions} model versions"]
    lines += [f"  moved aside: {path}" for path in result.moved_aside]
    lines += [f"  warning: left out {name}: the backup's manifest does not list it" for name in result.left_out]
    lines.append(f"  reservoirs: {', '.join(r.name for r in ws.reservoirs()) or 'none'}")
    emit(args, result.to_dict(), lines)
    return 0


def cmd_repair(args: argparse.Namespace, emit: Emit, workspace: WorkspaceOf) -> int:
    """Rebuild the rows from the model folders when the database is damaged."""
    result = repair(_root(args), force=args.force)
    if result.state == "healthy":
        emit(args, result.to_dict(), ["the workspace database is sound; nothing repaired (use --force to rebuild)"])
        return 0
    lines = [f"database was {result.state}; rebuilt from the model folders"]
    lines += [f"  moved aside: {path}" for path in result.moved_aside]
    for res in result.reservoirs:
        listed = ", ".join(f"v{v}" for v in res.versions)
        lines.append(f"  {res.name}: {listed} (active: v{res.active})")
    lines += [f"  left out {why}" for why in result.skipped]
    lines.append("readings were not in the model folders: re-import the CSV files (python -m core import ...)")
    emit(args, result.to_dict(), lines)
    return 0


def add_store_commands(sub: Any, common: argparse.ArgumentParser, emit: Emit, workspace: WorkspaceOf) -> None:
    """The `backup`, `restore` and `repair` subcommands on the main parser."""
    p = sub.add_parser("backup", parents=[common], help=BACKUP_HELP, description=BACKUP_HELP)
    p.add_argument("--out", required=True, help="the archive to write (.tar.gz), or a folder to write it into")
    p.set_defaults(func=lambda args: cmd_backup(args, emit, workspace))

    p = sub.add_parser("restore", parents=[common], help=RESTORE_HELP, description=RESTORE_HELP)
    p.add_argument("file", help="a backup written by `python -m core backup`")
    p.add_argument(
        "--force", action="store_true", help="restore over an existing workspace (its files are moved aside first)"
    )
    p.set_defaults(func=lambda args: cmd_restore(args, emit, workspace))

    p = sub.add_parser("repair", parents=[common], help=REPAIR_HELP, description=REPAIR_DESCRIPTION)
    p.add_argument("--force", action="store_true", help="rebuild even when the database looks sound")
    p.set_defaults(func=lambda args: cmd_repair(args, emit, workspace))
