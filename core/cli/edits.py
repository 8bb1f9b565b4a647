"""`python -m core edit` and `edits`: revise stored readings (mark bad, correct, undo) and list the revisions.

Kept apart from core.cli.main so that module stays one screenful per concern; the parser hooks in through
`add_edit_commands`. Heavy libraries load only inside the commands.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from core.app.revise import current_user, edit_readings, revision_rows, undo_edit
from core.cli.parts import Emit, WorkspaceOf, reservoir_command
from core.store.workspace import StoreError

EDIT_HELP = "revise stored readings: mark a period missing or correct a value (raw readings kept), or undo"
EDIT_DESCRIPTION = (
    "Revise a variable's readings from --from to --to (default: that one day). The raw readings are "
    "kept; cleaning, training, forecasts and charts use the revised series. Who (the OS user, or --user), when "
    "and --reason are stored with the revision; --undo ID takes one back."
)


def cmd_edit(args: argparse.Namespace, emit: Emit, workspace: Callable[[argparse.Namespace], Any]) -> int:
    """Mark a period missing, set a corrected value, or undo a revision (who = the OS user)."""
    ws = workspace(args)
    name = ws.reservoir(args.reservoir).name
    user = args.user or current_user()
    if args.undo is not None:
        if args.variable or args.date_from or args.missing or args.value is not None:
            raise StoreError("--undo ID takes back one revision; give it without --variable/--from/--to/--value.")
        rev = undo_edit(ws, name, args.undo, user)
        emit(args, {"reservoir": name, "undone": True, "revision": rev.to_dict()}, [f"{name}: undone {rev.describe()}"])
        return 0
    missing_flags = [flag for flag, given in (("--variable", args.variable), ("--from", args.date_from)) if not given]
    if args.reason is None:
        missing_flags.append("--reason")
    if missing_flags:
        raise StoreError(
            f"edit needs {', '.join(missing_flags)}: e.g. edit --reservoir '{name}' --variable level "
            "--from 2024-03-01 --to 2024-03-06 --missing --reason 'logger fault'."
        )
    rev = edit_readings(
        ws,
        name,
        args.variable,
        args.date_from,
        args.date_to,
        missing=args.missing,
        value=args.value,
        reason=args.reason,
        user=user,
    )
    unit = ws.reservoir(name).variable(rev.variable).unit
    lines = [
        f"{name}: revision {rev.describe(unit)}",
        f"  the raw readings are kept; undo with: python -m core edit --reservoir '{name}' --undo {rev.id}",
    ]
    emit(args, {"reservoir": name, "undone": False, "revision": rev.to_dict()}, lines)
    return 0


def cmd_edits(args: argparse.Namespace, emit: Emit, workspace: Callable[[argparse.Namespace], Any]) -> int:
    """List a reservoir's revisions, newest first, undone ones included (the audit trail)."""
    ws = workspace(args)
    info = ws.reservoir(args.reservoir)
    revisions = ws.revisions(info.name, args.variable)
    units = {v.name: v.unit for v in info.variables}

    def lines() -> list[str]:
        if not revisions:
            return [f"{info.name}: no revisions; the readings are as imported"]
        active = sum(r.active for r in revisions)
        out = [f"{info.name}: {len(revisions)} revisions ({active} applied), newest first"]
        out += [f"  {r.describe(units.get(r.variable))}" for r in reversed(revisions)]
        return out

    emit(args, {"reservoir": info.name, "revisions": revision_rows(revisions)}, lines)
    return 0


def add_edit_commands(sub: Any, common: argparse.ArgumentParser, emit: Emit, workspace: WorkspaceOf) -> None:
    """The `edit` and `edits` subcommands on the main parser."""
    p = reservoir_command(sub, common, "edit", EDIT_HELP, EDIT_DESCRIPTION)
    p.add_argument("--variable", help="the variable to revise, e.g. level")
    p.add_argument("--from", dest="date_from", help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", help="last day, YYYY-MM-DD (default: the --from day)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--missing", action="store_true", help="mark the days missing (bad readings)")
    what.add_argument("--value", help="the corrected value for every day of the period, e.g. 313.25")
    what.add_argument("--undo", type=int, metavar="ID", help="take back revision ID (see `edits`)")
    p.add_argument("--reason", help="why the readings are revised (kept for the audit)")
    p.add_argument("--user", help="who makes the revision (default: the OS user)")
    p.set_defaults(func=lambda args: cmd_edit(args, emit, workspace))

    p = sub.add_parser("edits", parents=[common], help="list a reservoir's revisions (who, when, why, undone)")
    p.add_argument("--reservoir", required=True)
    p.add_argument("--variable", help="only this variable's revisions")
    p.set_defaults(func=lambda args: cmd_edits(args, emit, workspace))
