"""`python -m core qc`: what screening finds in a reservoir's stored readings, and the out-of-range decision.

Kept apart from core.cli.main (one concern per module); the parser hooks in through `add_qc_command`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from core.app.screening import FINDING_LABELS, decide_out_of_range, out_of_range_decisions, stored_findings
from core.cli.parts import Emit, WorkspaceOf, reservoir_command
from core.data.config import OUT_OF_RANGE_DECISIONS
from core.data.report import runs_text
from core.store.workspace import StoreError

QC_HELP = "logger codes, absurd and out-of-range values in the stored readings; decide out-of-range handling"
QC_DESCRIPTION = (
    "List what screening finds in the stored readings (first and last day of each run). Values "
    "outside a variable's physical range are masked unless you decide otherwise: --out-of-range keep (use "
    "them, flagged) or relative (the variable has no lower limit, e.g. storage counted from a pool bottom)."
)


def cmd_qc(args: argparse.Namespace, emit: Emit, workspace: Callable[[argparse.Namespace], Any]) -> int:
    """List the findings with their date runs; with --out-of-range, first store the decision for --variable."""
    ws = workspace(args)
    name = ws.reservoir(args.reservoir).name
    if args.out_of_range:
        if not args.variable:
            raise StoreError("--out-of-range decides for one variable: add --variable, e.g. --variable storage.")
        decide_out_of_range(ws, name, args.variable, args.out_of_range)
    findings = stored_findings(ws, name, [args.variable] if args.variable else None)
    decisions = out_of_range_decisions(ws, name)
    lines = [f"{name}: " + (f"{len(findings)} finding(s)" if findings else "screening finds nothing")]
    for f in findings:
        what = f"{f.variable}: {f.count} day(s), {FINDING_LABELS[f.kind]}: {runs_text(f.runs, limit=5)}"
        if f.decision is not None:
            what += f" -> {f.decision} ({OUT_OF_RANGE_DECISIONS[f.decision]})"
        lines.append("  " + what)
    lines += [f"  decision: {var} -> {d}" for var, d in decisions.items()]
    emit(args, {"reservoir": name, "findings": [f.to_dict() for f in findings], "decisions": decisions}, lines)
    return 0


def add_qc_command(sub: Any, common: argparse.ArgumentParser, emit: Emit, workspace: WorkspaceOf) -> None:
    """The `qc` subcommand on the main parser."""
    p = reservoir_command(sub, common, "qc", QC_HELP, QC_DESCRIPTION)
    p.add_argument("--variable", help="only this variable (needed with --out-of-range)")
    p.add_argument("--out-of-range", choices=list(OUT_OF_RANGE_DECISIONS), help="what cleaning does with them")
    p.set_defaults(func=lambda args: cmd_qc(args, emit, workspace))
