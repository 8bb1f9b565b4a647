"""`python -m core curve`: import, show or remove a reservoir's storage-elevation curve.

Kept apart from core.cli.main so that module stays one screenful per concern; the parser hooks in through
`add_curve_command`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.app.curves import import_curve, remove_curve, stored_curve
from core.cli.parts import Emit, WorkspaceOf, reservoir_command
from core.data.curves import CurveOptions
from core.display import entered
from core.store.workspace import StoreError

CURVE_HELP = "import (or show, or remove) a reservoir's storage-elevation curve"
CURVE_DESCRIPTION = (
    "Import an elevation-storage or elevation-area-capacity table: two numeric columns, found by "
    "name (elevation/level/stage, storage/volume/capacity) or position (first = elevation, last = storage), "
    "with units from the headers or --elevation-unit/--storage-unit. It must rise on every row and cover the "
    "recorded range (--partial stores it anyway). With a curve, storage forecasts are also given as level and "
    "back, and operating levels may be set on either variable. Without FILE: show the stored curve."
)


def _curve_lines(name: str, curve: Any, uncovered: tuple[str, ...] = ()) -> list[str]:
    """Human summary of a stored curve: rows, spans with units, how it was read."""
    lo_e, hi_e = curve.span("level")
    lo_s, hi_s = curve.span("storage")
    out = [
        f"{name}: storage-elevation curve from {curve.source or 'a file'}, {len(curve.elevation)} rows",
        f"  level {entered(lo_e)} to {entered(hi_e)} {curve.elevation_unit or '(no unit)'}; "
        f"storage {entered(lo_s)} to {entered(hi_s)} {curve.storage_unit or '(no unit)'}",
    ]
    out += [f"  {note}" for note in curve.notes]
    out += [f"  warning: {text}" for text in uncovered]
    return out


def cmd_curve(args: argparse.Namespace, emit: Emit, workspace: Callable[[argparse.Namespace], Any]) -> int:
    """Import a curve file (checked: monotonic, covering the records), or show / remove the stored one."""
    ws = workspace(args)
    name = ws.reservoir(args.reservoir).name
    if args.remove:
        remove_curve(ws, name)
        emit(args, {"reservoir": name, "stored": False}, [f"{name}: curve removed"])
        return 0
    if args.file is None:
        curve = stored_curve(ws, name)
        if curve is None:
            raise StoreError(f"'{name}' has no storage-elevation curve; import one with: curve --reservoir NAME FILE")
        emit(args, {"reservoir": name, "stored": True, "curve": curve.to_dict()}, _curve_lines(name, curve))
        return 0
    options = CurveOptions(
        elevation_column=args.elevation_column,
        storage_column=args.storage_column,
        elevation_unit=args.elevation_unit,
        storage_unit=args.storage_unit,
    )
    outcome = import_curve(ws, name, Path(args.file), options=options, partial=args.partial)
    emit(args, outcome.to_dict(), _curve_lines(name, outcome.curve, outcome.uncovered))
    return 0


def add_curve_command(sub: Any, common: argparse.ArgumentParser, emit: Emit, workspace: WorkspaceOf) -> None:
    """The `curve` subcommand on the main parser."""
    p = reservoir_command(sub, common, "curve", CURVE_HELP, CURVE_DESCRIPTION)
    p.add_argument("file", nargs="?", help="the curve CSV (omit to show the stored curve)")
    p.add_argument("--elevation-column", help="column holding the elevations (default: detected)")
    p.add_argument("--storage-column", help="column holding the storage (default: detected)")
    p.add_argument("--elevation-unit", help="unit of the elevations, e.g. ft or m (default: from the header)")
    p.add_argument("--storage-unit", help="unit of the storage, e.g. acre-ft, hm3, mcft (default: from the header)")
    p.add_argument("--partial", action="store_true", help="store a curve that does not cover all recorded readings")
    p.add_argument("--remove", action="store_true", help="remove the stored curve")
    p.set_defaults(func=lambda args: cmd_curve(args, emit, workspace))
