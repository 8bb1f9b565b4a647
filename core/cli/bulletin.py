"""`python -m core bulletin`: the forecast bulletin of one or all reservoirs as PDF (and the same as HTML).

Kept apart from core.cli.main (one concern per module); the parser hooks in through `add_bulletin_command`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.app.bulletin import build_bulletin, what_if_scenarios
from core.cli.parts import Emit, WorkspaceOf
from core.cli.whatif import add_what_if_option, plans_of
from core.export.bulletin import write_bulletin
from core.export.files import ExportError

BULLETIN_HELP = "the forecast bulletin (PDF, and HTML) of one reservoir or all of them"
BULLETIN_DESCRIPTION = (
    "Write a bulletin an operator can send without editing: per reservoir the forecast chart with its bands and "
    "level zones, the alert per side in words, the forecast per day with the chance of being beyond each "
    "operating level, and provenance (data through, model and version, recent band coverage, skill vs "
    "persistence). --all adds a first page with every reservoir's alert state; a reservoir without a model gets "
    "a page saying so. The PDF is printed by Chromium (text selectable, fonts embedded)."
)


def _sheet_line(sheet: Any) -> str:
    """One reservoir's line in the command's report."""
    if sheet.status != "forecast":
        return f"  {sheet.reservoir}: {sheet.status} - {sheet.message}"
    sides = ", ".join(f"{a.side} {a.state}" for a in sheet.alerts)
    version = f"v{sheet.provenance.version}" if sheet.provenance else ""
    chart = "" if sheet.chart_svg is not None else f" (no chart: {sheet.chart_note})"
    return f"  {sheet.reservoir}: {sheet.worst.upper()} ({sides}), {sheet.target} forecast by {version}{chart}"


def cmd_bulletin(args: argparse.Namespace, emit: Emit, workspace: Callable[[argparse.Namespace], Any]) -> int:
    """Build the bulletin of --reservoir (or --all) and write the PDF to --out (and the HTML to --html)."""
    ws = workspace(args)
    plans = plans_of(args)  # parsed before any model loads, so a typo fails fast
    names = [r.name for r in ws.reservoirs()] if args.all else [ws.reservoir(args.reservoir).name]
    tables, skipped = what_if_scenarios(ws, names, plans) if plans else ({}, [])
    bulletin = build_bulletin(ws, None if args.all else names, paper=args.paper, scenarios=tables)
    try:
        written = write_bulletin(bulletin, Path(args.out), Path(args.html) if args.html else None)
    except ExportError as exc:  # no Chromium, or it failed: one line saying what to install, as `export` does
        print(f"error: the bulletin PDF could not be printed: {exc}", file=sys.stderr)
        return 1
    data = {
        "made_at": bulletin.made_at,
        "paper": bulletin.paper,
        "files": written,
        "reservoirs": [
            {
                "reservoir": s.reservoir,
                "status": s.status,
                "state": s.worst,
                "alerts": {a.side: a.state for a in s.alerts},
                "version": s.provenance.version if s.provenance else None,
                "message": s.message or None,
            }
            for s in bulletin.sheets
        ],
    }
    lines = [f"bulletin of {len(bulletin.sheets)} reservoir(s), {bulletin.paper.upper()}, made {bulletin.made_at}:"]
    lines += [_sheet_line(s) for s in bulletin.sheets]
    lines += [f"  {line}" for line in skipped]
    data["scenarios_skipped"] = skipped
    lines += [f"  written: {path}" for path in written.values()]
    emit(args, data, lines)
    return 0


def add_bulletin_command(sub: Any, common: argparse.ArgumentParser, emit: Emit, workspace: WorkspaceOf) -> None:
    """The `bulletin` subcommand on the main parser."""
    p = sub.add_parser("bulletin", parents=[common], help=BULLETIN_HELP, description=BULLETIN_DESCRIPTION)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--reservoir", help="one reservoir's bulletin")
    who.add_argument("--all", action="store_true", help="every reservoir, with a summary page first")
    p.add_argument("--out", required=True, help="the PDF file to write, e.g. bulletin.pdf")
    p.add_argument("--paper", choices=["a4", "letter"], default="a4", help="paper size (default a4)")
    p.add_argument("--html", help="also write the same bulletin as one self-contained HTML file")
    add_what_if_option(p)  # the scenario table: e.g. --what-if outflow=1200 (reservoirs with a release record)
    p.set_defaults(func=lambda args: cmd_bulletin(args, emit, workspace))
