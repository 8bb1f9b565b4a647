"""`python -m core cycle`: the daily cycle over every reservoir (inbox, retrain where due, forecast, alerts, notify).

Kept apart from core.cli.main; the parser hooks in through `add_cycle_command`. Exit code 0 when every reservoir
is ok, EXIT_PARTIAL (3) when some failed (the others were still forecast), 2 for a user error.
"""

from __future__ import annotations

import argparse
from typing import Any

from core.cli.parts import Emit, WorkspaceOf
from core.display import number
from core.fleet.cycle import CycleOptions, run_cycle
from core.fleet.due import DueRule
from core.fleet.engines import EngineSettings
from core.fleet.modes import ENGINES, RETRAIN_MODES

EXIT_PARTIAL = 3
CYCLE_HELP = "the daily cycle: import the inbox, retrain where due, forecast every reservoir, send alert changes"
CYCLE_DESCRIPTION = (
    "Imports every CSV in --inbox (reservoir named by the file stem, or by the inbox's inbox.toml; files move to "
    "processed/ or failed/ beside them), retrains where due (--retrain due: no model yet, the newest version's data "
    "ending --retrain-after-days or more before the last reading, or its recent skill vs persistence below "
    "--skill-floor; all; none) with the newest version's settings, activating a new version only when it beats the "
    "active one on validation, then forecasts every reservoir, judges the alert per side and sends alert changes "
    "to the configured channels. One reservoir failing never stops the others (exit code 3). Run it every morning "
    "from cron or a systemd timer (see the README)."
)


def summary_lines(report: Any) -> list[str]:
    """The human summary: one row per reservoir, then the inbox and the notifications."""
    ok = len(report.reservoirs) - len(report.failed)
    out = [
        f"cycle #{report.cycle_id} ({report.engine}): {ok} of {len(report.reservoirs)} reservoirs ok "
        f"in {report.seconds:.1f} s",
        f"  {'reservoir':22s} {'status':7s} {'version':>7s} {'new':>4s} {'issued':10s} {'last':>10s} "
        f"{'day 7':>10s} {'skill':>6s} {'cover':>6s}  alert / error",
    ]
    for r in report.reservoirs:
        tail = r.alert if r.status == "ok" else f"error: {r.error}"
        out.append(
            f"  {r.reservoir[:22]:22s} {r.status:7s} {number(r.version):>7s} {number(r.new_version):>4s} "
            f"{(r.issued or '-'):10s} {number(r.last_value):>10s} {number(r.end_median):>10s} "
            f"{number(r.skill, digits=2):>6s} "
            f"{(f'{r.coverage:.0%}' if r.coverage is not None else '-'):>6s}  {tail}"
        )
        if r.retrained or (r.retrain_reason and r.status == "ok"):
            out.append(f"  {'':22s} {'retrained' if r.retrained else 'kept'}: {r.retrain_reason}")
    if report.fleet is not None:
        out.append(report.fleet.summary())
    inbox = report.inbox
    if inbox.imported or inbox.failed or inbox.held:
        out.append(
            f"inbox: {len(inbox.imported)} file(s) imported, {len(inbox.failed)} refused, {len(inbox.held)} held "
            "(not imported on a guess)"
        )
        out += [f"  imported {i['file']}: {i['added']} readings added, {i['changed']} changed" for i in inbox.imported]
        out += [f"  refused {f['file']}: {f['reason']}" for f in inbox.failed]
        for h in inbox.held:
            out.append(f"  held {h['file']} (in {h['moved_to']}): confirm in inbox.toml, then move it back")
            out += [f"    {q}" for q in h["questions"]]
    out += _notification_lines(report.notifications)
    return out


def _notification_lines(notifications: Any) -> list[str]:
    """One line per alert change and per delivery."""
    out = []
    for n in notifications:
        if n.get("kind") == "change":
            out.append(
                f"  alert change {n.get('reservoir')} {n.get('side')}: {n.get('change')} "
                f"({n.get('previous')} -> {n.get('state')})"
                if "change" in n
                else f"  alert change failed: {n}"
            )
        elif n.get("kind") == "delivery":
            out.append(
                f"  delivery to {n.get('channel')}: {n.get('status')}" + (f" ({n['error']})" if n.get("error") else "")
            )
        else:
            out.append(f"notifications: {n.get('message') or n.get('status')}")
    return out


def cmd_cycle(args: argparse.Namespace, emit: Emit, workspace: WorkspaceOf) -> int:
    """Run the cycle once and print its summary (or JSON); 3 when some reservoir failed."""
    options = CycleOptions(
        inbox=args.inbox,
        retrain=args.retrain,
        engine=EngineSettings(name=args.engine, workers=args.workers, ray_address=args.ray_address),
        rule=DueRule(after_days=args.retrain_after_days, skill_floor=args.skill_floor),
        max_epochs=args.max_epochs,
        reservoirs=tuple(args.reservoir or ()),
        fleet=args.fleet,
    )
    report = run_cycle(workspace(args), options)
    emit(args, report.to_dict(), lambda: summary_lines(report))
    return EXIT_PARTIAL if report.failed else 0


def add_cycle_command(sub: Any, common: argparse.ArgumentParser, emit: Emit, workspace: WorkspaceOf) -> None:
    """The `cycle` subcommand on the main parser."""
    after_days, skill_floor = 30, 0.0  # core.fleet.due.DueRule's defaults (tests/test_cycle.py checks they agree)
    p = sub.add_parser("cycle", parents=[common], help=CYCLE_HELP, description=CYCLE_DESCRIPTION)
    p.add_argument("--inbox", metavar="DIR", help="folder of CSV files to import first (processed/, failed/ beside)")
    p.add_argument("--retrain", choices=RETRAIN_MODES, default="due", help="which reservoirs to retrain (default due)")
    p.add_argument(
        "--engine", choices=ENGINES, default="local", help="local processes (default), a Ray cluster, or in-process"
    )
    p.add_argument(
        "--ray-address", metavar="ADDR", help="join this Ray cluster (default: $RAY_ADDRESS, else a local one)"
    )
    p.add_argument("--workers", type=int, help="tasks at once on this machine (default: its CPU count)")
    p.add_argument(
        "--retrain-after-days",
        type=int,
        default=after_days,
        help=f"due when the newest version's data ends this many days before the last reading (default {after_days})",
    )
    p.add_argument(
        "--skill-floor",
        type=float,
        default=skill_floor,
        help=f"due when the recent skill vs persistence is below this (default {skill_floor:g})",
    )
    p.add_argument("--max-epochs", type=int, help="cap every training's epochs (default: the version's own setting)")
    p.add_argument("--reservoir", action="append", help="only this reservoir (repeatable; default: all)")
    p.add_argument(
        "--fleet",
        action="store_true",
        help="also retrain the model trained across all reservoirs when --retrain says so (one task, the widest "
        "worker), then fine-tune each reservoir from it; a due reservoir the fleet serves is fine-tuned",
    )
    p.set_defaults(func=lambda args: cmd_cycle(args, emit, workspace))
