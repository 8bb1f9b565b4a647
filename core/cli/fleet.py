"""`train --fleet`: one model trained across the workspace's reservoirs, fine-tuned per reservoir (issue 22).

The `train` command's own flags that mean the same for the fleet (--target, --test-from, --n-steps, --horizon,
--epochs, --patience, --batch-size, --learning-rate, --seed, --activate/--no-activate) carry over; --features and
--model do not (each reservoir reads its own covariates; the fleet model is one design).
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from core.app.fleettrain import train_fleet
from core.cli.parts import Emit, WorkspaceOf
from core.display import number
from core.model.fleet import FleetConfig

# train's flags -> FleetConfig's settings of the same meaning
_SHARED = {"n_steps": "n_steps", "horizon": "horizon", "epochs": "epochs", "patience": "patience",
           "batch_size": "batch_size", "learning_rate": "learning_rate", "seed": "seed"}  # fmt: skip


def add_fleet_options(p: argparse.ArgumentParser) -> None:
    """The `train` command's fleet flags."""
    p.add_argument(
        "--fleet",
        action="store_true",
        help="train ONE model on every reservoir's record (or those of --reservoirs), fine-tuned per reservoir; "
        "reservoirs with 30 days or more but too short a record for their own model are served by it at once",
    )
    p.add_argument("--reservoirs", help="with --fleet: comma-separated reservoirs (default: all with the target)")
    p.add_argument("--no-fine-tune", action="store_true", help="with --fleet: save the fleet model only")


def fleet_config(args: argparse.Namespace) -> FleetConfig:
    """FleetConfig from the flags given (the rest: the fleet's defaults)."""
    given = {field: getattr(args, flag) for flag, field in _SHARED.items() if getattr(args, flag, None) is not None}
    return FleetConfig.from_dict({**FleetConfig().to_dict(), **given}).checked()


def cmd_train_fleet(args: argparse.Namespace, emit: Emit, workspace: WorkspaceOf) -> int:
    """Train, save and link the fleet model; print one JSON object (--json) or a table per reservoir."""
    for flag, why in (("features", "each reservoir reads its own covariates"), ("model", "it is one design"),
                      ("reservoir", "name several with --reservoirs A,B")):  # fmt: skip
        if getattr(args, flag, None) is not None:
            raise ValueError(f"--{flag} does not apply to train --fleet ({why}).")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # its retracing notes (one per fine-tune) are noise here
    names = [n.strip() for n in (args.reservoirs or "").split(",") if n.strip()] or None
    outcome = train_fleet(
        workspace(args),
        names,
        target=args.target,
        test_from=args.test_from,
        fine_tune=not args.no_fine_tune,
        config=fleet_config(args),
        activate=args.activate,
    )
    out = outcome.to_dict()
    emit(args, out, lambda: fleet_lines(out))
    return 0


def fleet_lines(out: dict[str, Any]) -> list[str]:
    """Human summary: the fleet version, then per reservoir its version, history and test skill."""
    fleet = out["fleet_version"]
    lines = [
        f"fleet model (version id {fleet['id']}) trained on {len(fleet['reservoirs'])} reservoirs' {out['target']}"
        f" in {number(out['train_seconds'])} s ({fleet['epochs_run']} epochs, best {fleet['best_epoch']})",
        f"  {'reservoir':24s}{'version':>8s}  {'model':12s}{'active':>7s}{'history d':>10s}"
        f"{'skill':>8s}{'fleet skill':>12s}{'MAE':>12s}",
    ]
    for r in out["reservoirs"]:
        skill = r["metrics"].get("skill_vs_persistence")
        fleet_skill = r["fleet_metrics"].get("skill_vs_persistence")
        model = "cold start" if r["cold_start"] else r["model"]
        lines.append(
            f"  {r['reservoir'][:24]:24s}{r['version']:>8d}  {model:12s}{'yes' if r['active'] else 'no':>7s}"
            f"{number(r['history_days']):>10s}{number(skill):>8s}{number(fleet_skill):>12s}"
            f"{number(r['metrics'].get('mae')):>12s}"
        )
        if r["note"]:
            lines.append(f"    {r['note']}")
    lines += [f"  left out: {s['reservoir']}: {s['reason']}" for s in out["skipped"]]
    lines.append(
        "  skill: vs persistence on each reservoir's own test period (above 0: better than 'tomorrow = today');"
    )
    lines.append("  a version becomes active only where its validation MAE beats the active one.")
    return lines
