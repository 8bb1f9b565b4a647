"""`python -m core`: every dashboard action, scriptable. Heavy libraries load only inside commands."""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.app import fleetjob as fleet_job
from core.app.compare import compare_models
from core.app.curves import stored_curve
from core.app.jobs import run_job
from core.app.judgement import record_judgement
from core.app.pipeline import (
    add_sample,
    alert_trigger,
    default_features,
    forecast_history,
    forecast_levels,
    forecast_reservoir,
    hindcast,
    relative_variables,
    resolve_variables,
    retrain_reservoir,
    set_alert_trigger,
    train_reservoir,
    update_levels,
    verify_alerts,
)
from core.app.serving import served_by
from core.app.summary import freshness
from core.cli.bulletin import add_bulletin_command
from core.cli.curves import add_curve_command
from core.cli.cycle import add_cycle_command
from core.cli.edits import add_edit_commands
from core.cli.fleet import add_fleet_options, cmd_train_fleet
from core.cli.ingest import add_ingest_commands
from core.cli.notify import add_notify_commands
from core.cli.qc import add_qc_command
from core.cli.store import add_store_commands
from core.cli.users import add_users_commands
from core.cli.whatif import add_what_if_option, cmd_hindcast_what_if, forecast_what_if, plans_of, what_if_lines
from core.data.levels import default_level_variable, parse_level
from core.data.variables import canonical_name
from core.display import number
from core.export import files, report
from core.fleet import job as cycle_job
from core.forecast import risk
from core.jsonio import dumps
from core.model.config import DEFAULT_MODEL, SplitConfig, TrainConfig, with_overrides
from core.model.zoo import MODEL_NAMES, check_name
from core.store.workspace import Workspace, resolve_workspace

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1


def _emit(args: argparse.Namespace, data: Any, text: Callable[[], list[str]] | list[str]) -> None:
    """Print JSON when --json is given, else the human lines."""
    if args.json:
        print(dumps(data))
    else:
        for line in text() if callable(text) else text:
            print(line)


def _workspace(args: argparse.Namespace):  # noqa: ANN202
    """Open the workspace named by --workspace, SENTINEL_WORKSPACE or ./workspace."""
    return Workspace(resolve_workspace(args.workspace))


# ---------------------------------------------------------------- commands


def cmd_sample(args: argparse.Namespace) -> int:
    """Add the built-in sample reservoir (and optionally write its CSV)."""
    ws = _workspace(args)
    if args.if_empty and ws.reservoirs():
        _emit(
            args,
            {"results": [], "skipped": "workspace not empty"},
            ["workspace already has reservoirs; sample not added"],
        )
        return 0
    results = add_sample(ws, Path(args.csv) if args.csv else None)
    data = {"results": [r.to_dict() for r in results], "csv": args.csv}
    lines = [f"{r.reservoir}: {r.added} readings added, {r.changed} changed, {r.unchanged} unchanged" for r in results]
    if args.csv:
        lines.append(f"sample readings written to {args.csv}")
    _emit(args, data, lines)
    return 0


def _train_config(args: argparse.Namespace, base: Any = None):  # noqa: ANN202
    """TrainConfig from flags, on top of a base config (retrain) or the defaults."""
    from dataclasses import replace

    features = tuple(f.strip() for f in args.features.split(",") if f.strip()) if args.features is not None else None
    cfg = base or TrainConfig(target=args.target, features=())
    cfg = with_overrides(
        cfg,
        target=getattr(args, "target", None),
        features=features,
        n_steps=args.n_steps,
        horizon=args.horizon,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        patience=args.patience,
        seed=args.seed,
    )
    if args.test_from:
        cfg = with_overrides(cfg, split=SplitConfig(test_from=args.test_from))
    if getattr(args, "model", None):
        cfg = with_overrides(cfg, model=replace(cfg.model, name=check_name(args.model)))
    return cfg


def _train_lines(out: dict[str, Any]) -> list[str]:
    """Human summary of a training run."""
    m = out["metrics"]
    unit = ""
    lines = [
        f"{out['reservoir']}: version {out['version']} ({out['model']}) trained on {out['target']}"
        f" + {', '.join(out['features']) or 'no covariates'}",
        f"  {out['epochs_run']} epochs (best {out['best_epoch']}) in {out['train_seconds']:.1f} s;"
        f" {'active' if out['active'] else 'not active (validation MAE not better than the active version)'}",
        f"  test period {out['splits']['test'][0]} to {out['splits']['test'][1]} ({m['n_windows']} forecasts):",
        f"  {'':12s}{'MAE':>12s}{'RMSE':>12s}{'NSE':>8s}{'KGE':>8s}",
    ]
    for name in ("model", "persistence"):
        s = m[name]
        lines.append(
            f"  {name:12s}{number(s['mae']):>12s}{number(s['rmse']):>12s}"
            f"{number(s['nse']):>8s}{number(s['kge']):>8s}{unit}"
        )
    lines.append(
        f"  skill vs persistence: {number(m['skill_vs_persistence'])} (above 0 = better than 'tomorrow = today')"
    )
    return lines


def cmd_train(args: argparse.Namespace) -> int:
    """Train a new version on the stored history (--fleet: one model across the reservoirs, core.cli.fleet)."""
    if args.fleet:
        return cmd_train_fleet(args, _emit, _workspace)
    missing = [flag for flag in ("reservoir", "target") if getattr(args, flag) is None]
    if missing:
        raise ValueError(f"train needs {' and '.join('--' + m for m in missing)} (or --fleet for all reservoirs).")
    ws = _workspace(args)
    cfg = _with_default_features(ws, args, _train_config(args))
    outcome = train_reservoir(ws, args.reservoir, cfg, activate=args.activate)
    out = outcome.to_dict()
    _emit(args, out, lambda: _train_lines(out))
    return 0


def _with_default_features(ws: Any, args: argparse.Namespace, cfg: Any):  # noqa: ANN202 - TrainConfig
    """Without --features, train on every stored non-state variable of the reservoir."""
    if args.features is not None:
        return cfg
    target, _ = resolve_variables(ws, args.reservoir, cfg.target, ())
    return with_overrides(cfg, target=target, features=default_features(ws, args.reservoir, target))


def cmd_compare(args: argparse.Namespace) -> int:
    """Train zoo members on the same split, rank them on validation, report test metrics (the leaderboard)."""
    ws = _workspace(args)
    cfg = _with_default_features(ws, args, _train_config(args))
    board = compare_models(ws, args.reservoir, cfg, args.models, activate_best=args.activate)
    board.pop("test")  # per-window forecasts feed the dashboard's charts; too long for a terminal
    for row in board["models"]:
        row.pop("test_pred")

    def lines() -> list[str]:
        out = [
            f"{board['reservoir']}: {len(board['models'])} models on {board['target']}, ranked by validation MAE "
            "(test metrics never choose)",
            f"  {'#':>2s} {'model':22s}{'version':>8s}{'val MAE':>11s}{'test MAE':>11s}{'RMSE':>11s}"
            f"{'NSE':>8s}{'KGE':>8s}{'skill':>8s}{'train s':>9s}",
        ]
        for r in board["models"]:
            m = r["metrics"]
            out.append(
                f"  {r['rank']:>2d} {r['model']:22s}{r['version']:>8d}{number(r['val_mae']):>11s}"
                f"{number(m['model']['mae']):>11s}{number(m['model']['rmse']):>11s}{number(m['model']['nse']):>8s}"
                f"{number(m['model']['kge']):>8s}{number(m['skill_vs_persistence']):>8s}{r['train_seconds']:>9.1f}"
            )
        out += [f"  failed: {f['model']}: {f['error']}" for f in board["failed"]]
        out.append(f"  {board['verdict']}")
        out.append(
            f"  version {board['activated']} ({board['best']}) is now active"
            if board["activated"]
            else "  the active version is unchanged (activate any version with `activate`)"
        )
        return out

    _emit(args, board, lines)
    return 0


def cmd_retrain(args: argparse.Namespace) -> int:
    """Train the active version's settings on all current data; compare old and new on the same recent window."""
    outcome, comparison = retrain_reservoir(_workspace(args), args.reservoir, activate=args.activate)
    out = {**outcome.to_dict(), "comparison": comparison}

    def lines() -> list[str]:
        c = comparison
        head = _train_lines(out)
        head.append(f"  champion vs challenger on forecasts issued {c['window'][0]} to {c['window'][1]}:")
        for side in ("champion", "challenger"):
            s = c[side]
            head.append(
                f"    {side:10s} v{s['version']:<3d} MAE {number(s['mae']):>12s}  "
                f"skill {number(s['skill_vs_persistence'])}"
            )
        if c["champion_trained_on_window_days"]:
            head.append(f"    note: the champion saw {c['champion_trained_on_window_days']} of these days in training")
        said = c["better"] if c.get("meaningful", True) else f"{c['better']}, {c.get('difference', '')}"
        head.append(
            f"  better on this window: {said}"
            + (
                ""
                if out["active"]
                else f" (activate with: python -m core activate --reservoir '{out['reservoir']}'"
                f" --version {out['version']})"
            )
        )
        return head

    _emit(args, out, lines)
    return 0


def cmd_forecast(args: argparse.Namespace) -> int:
    """Forecast from the latest readings or a past as-of date."""
    plans_of(args)  # a mistyped --what-if fails before the model loads
    ws = _workspace(args)
    fc = forecast_reservoir(ws, args.reservoir, version=args.version, as_of=args.as_of)
    if args.as_of is None:  # the active model's latest forecast: its alert is the reservoir's (one truth)
        try:
            if args.version is None or ws.version(args.reservoir).version == fc.version:
                record_judgement(ws, fc)
        except ValueError as exc:  # the store refused (e.g. the database is busy): the forecast still stands
            print(f"note: the alert state was not recorded ({exc})", file=sys.stderr)
    whatif = forecast_what_if(args, ws, fc)
    age = freshness(fc.last_observed["date"], fc.points[-1].date)
    served = served_by(ws, fc.reservoir, fc.version)
    data = {**fc.to_dict(), "freshness": age.to_dict(), "served_by": served.to_dict() if served else None}
    if whatif is not None:
        data["what_if"] = whatif.to_dict()

    def lines() -> list[str]:
        unit = f" {fc.unit}" if fc.unit else ""
        what = age.title().lower() if args.as_of is None else "forecast"
        out = [
            f"{fc.reservoir}: {fc.target} {what} by version {fc.version}, issued {fc.issued}"
            f" (last observed {number(fc.last_observed['value'])}{unit})"
        ]
        if args.as_of is None and (age.past or age.stale):
            out.append(f"  {age.words()}")
        if served is not None:
            out.append(f"  {served.words()}")
        has_bands = fc.points[0].lower_80 is not None
        header = f"  {'date':10s}  {'forecast':>12s}"
        if has_bands:
            header += f"  {'80 % band':>27s}  {'95 % band':>27s}"
        out.append(header + ("   observed" if fc.points[0].observed is not None else ""))
        for p in fc.points:
            row = f"  {p.date}  {number(p.value):>12s}"
            if has_bands:
                row += f"  {number(p.lower_80):>12s} - {number(p.upper_80):>12s}"
                row += f"  {number(p.lower_95):>12s} - {number(p.upper_95):>12s}"
            if p.observed is not None:
                row += f"   {number(p.observed)}"
            out.append(row)
        if fc.converted is not None:
            c = fc.converted
            out.append(f"  as {c.variable} ({c.unit or 'no unit'}, via the {c.via}):")
            for i, p in enumerate(c.points):
                note = c.note(i)
                out.append(f"  {p.date}  {number(p.value):>12s}" + (f"   {note}" if note else ""))
        if fc.bands_note:
            out.append(f"  note: {fc.bands_note}")
        out += [f"  {line}" for line in risk.alert_lines(fc.alert, fc.alerts, upper=True)]
        return out + what_if_lines(whatif)

    _emit(args, data, lines)
    return 0


def cmd_levels(args: argparse.Namespace) -> int:
    """List or edit the reservoir's operating levels and its alert trigger."""
    ws = _workspace(args)
    info = ws.reservoir(args.reservoir)
    if args.set or args.remove:
        var_name, unit = _level_variable(ws, info, args.variable or _default_level_variable(ws, info))
        relative = var_name in relative_variables(ws, info.name)
        new = [parse_level(spec, unit, var_name, relative=relative) for spec in args.set or []]
        update_levels(ws, info.name, new, args.remove or [])
    if args.trigger is not None:
        set_alert_trigger(ws, info.name, args.trigger)
    levels = ws.levels(info.name)
    trigger = alert_trigger(ws, info.name)
    data = {"reservoir": info.name, "trigger": trigger, "levels": [lv.to_dict() for lv in levels]}

    def lines() -> list[str]:
        out = [f"{info.name}: operating levels (alert when a level is at least {trigger:.0%} likely to be crossed)"]
        for lv in sorted(levels, key=lambda lv: -lv.value):
            arrow = "above" if lv.side == "flood" else "below"
            out.append(
                f"  {lv.name:24s} {number(lv.value):>12s} {lv.unit or '':6s} {lv.variable:10s}"
                f" alert {arrow}, {lv.severity}"
            )
        if not levels:
            out.append("  none set; add one with --set 'Flood warning=313.5:flood:warning'")
        return out

    _emit(args, data, lines)
    return 0


def _level_variable(ws: Any, info: Any, wanted: str) -> tuple[str, str | None]:
    """A stored variable, or the curve's other variable when the reservoir records only one of level/storage."""
    curve = stored_curve(ws, info.name)
    key = canonical_name(wanted)
    if curve is not None and key not in info.variable_names and curve.other(key):
        return key, curve.unit_of(key)
    var = info.variable(wanted)
    return var.name, var.unit


def _default_level_variable(ws: Any, info: Any) -> str:
    """The variable new levels go on: core's rule (the Levels page uses the same)."""
    active = ws.active_version(info.name)
    return default_level_variable(info.variable_names, active.target if active else None)


def cmd_hindcast(args: argparse.Namespace) -> int:
    """The forecasts the model would have issued on each past day, with what then happened."""
    if plans_of(args):  # scenarios on each past day (core.cli.whatif)
        return cmd_hindcast_what_if(args, _emit, _workspace)
    forecasts = hindcast(_workspace(args), args.reservoir, args.date_from, args.date_to, version=args.version)
    data = {"reservoir": args.reservoir, "hindcasts": [{"issued": f.issued, **f.to_dict()} for f in forecasts]}

    def lines() -> list[str]:
        out = [f"{len(forecasts)} hindcasts issued {args.date_from} to {args.date_to}"]
        for f in forecasts:
            last = f.points[-1]
            obs = number(last.observed) if last.observed is not None else "-"
            out.append(
                f"  {f.issued}: day {last.lead} forecast {number(last.value)}, observed {obs}; alert {f.alert['state']}"
            )
        return out

    _emit(args, data, lines)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Hits, misses and false alarms of the alert rule over a version's test period."""
    ws = _workspace(args)
    name = ws.reservoir(args.reservoir).name
    result = verify_alerts(ws, name, version=args.version, trigger=args.trigger)

    def lines() -> list[str]:
        out = [
            f"{name} v{result['version']}: alert rule (>= {result['trigger']:.0%}) on forecasts issued "
            f"{result['period'][0]} to {result['period'][1]}"
        ]
        out.append(
            f"  {'level':24s} {'events':>6s} {'alerts':>6s} {'hits':>5s} {'miss':>5s} {'false':>5s}"
            f" {'POD':>5s} {'FAR':>5s} {'CSI':>5s}"
        )
        for r in result["levels"]:
            out.append(
                f"  {r['level']:24s} {r['events']:>6d} {r['alerts']:>6d} {r['hits']:>5d} {r['misses']:>5d}"
                f" {r['false_alarms']:>5d}"
                f" {number(r['pod'], digits=2):>5s} {number(r['far'], digits=2):>5s} {number(r['csi'], digits=2):>5s}"
            )
        if not result["levels"]:
            out.append("  no operating levels on this model's variable")
        return out

    _emit(args, result, lines)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the forecast chart (png/svg/pdf/html) or table (csv) to a file."""
    ws = _workspace(args)
    fc = forecast_reservoir(ws, args.reservoir, version=args.version, as_of=args.as_of)
    out = Path(args.out)
    if out.is_dir():
        out = out / report.filename(fc, args.format)
    data = report.render(forecast_history(ws, fc), fc, forecast_levels(ws, fc.reservoir, fc.target), args.format)
    files.write_export(out, data)
    _emit(
        args,
        {"path": str(out), "format": args.format, "bytes": len(data), "version": fc.version, "issued": fc.issued},
        [f"{args.format.upper()} written to {out} ({len(data):,} bytes)"],
    )
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    """Versions of a reservoir with their scores; which one is active."""
    ws = _workspace(args)
    name = ws.reservoir(args.reservoir).name
    rows = []
    for m in ws.versions(name):
        rows.append(
            {
                "version": m.version,
                "active": m.active,
                "created": m.created,
                "model": m.model,
                "target": m.target,
                "features": list(m.features),
                "data_range": list(m.data_range) if m.data_range else None,
                "val_mae": m.val_mae,
                "metrics": {k: m.metrics.get(k) for k in ("model", "persistence", "skill_vs_persistence")},
                "epochs_run": m.epochs_run,
                "train_seconds": m.train_seconds,
            }
        )

    def lines() -> list[str]:
        if not rows:
            return [f"{name}: no models yet (run: python -m core train --reservoir '{name}' --target ...)"]
        out = [f"{'':2s}{'ver':>4s}  {'created':20s} {'target':10s} {'val MAE':>10s} {'test MAE':>10s} {'skill':>7s}"]
        for r in rows:
            out.append(
                f"{'*' if r['active'] else ' ':2s}{r['version']:>4d}  {r['created'][:19]:20s} {r['target']:10s}"
                f" {number(r['val_mae']):>10s} {number(r['metrics']['model']['mae']):>10s}"
                f" {number(r['metrics']['skill_vs_persistence']):>7s}"
            )
        out.append("* = active")
        return out

    _emit(args, {"reservoir": name, "models": rows}, lines)
    return 0


def cmd_activate(args: argparse.Namespace) -> int:
    """Make a stored version the active one (rollback or promote)."""
    ws = _workspace(args)
    name = ws.reservoir(args.reservoir).name
    ws.activate(name, args.version)
    _emit(args, {"reservoir": name, "active": args.version}, [f"{name}: version {args.version} is now active"])
    return 0


def cmd_reservoirs(args: argparse.Namespace) -> int:
    """Reservoirs in the workspace with their variables and date range."""
    ws = _workspace(args)
    infos = ws.reservoirs()
    data = [
        {
            "name": r.name,
            "first": r.first,
            "last": r.last,
            "variables": [{"name": v.name, "unit": v.unit, "count": v.count} for v in r.variables],
        }
        for r in infos
    ]
    lines = [
        f"{r.name}: {r.first} to {r.last}; " + ", ".join(f"{v.name} ({v.unit or 'no unit'})" for v in r.variables)
        for r in infos
    ] or ["The workspace is empty. Add the sample with: python -m core sample"]
    _emit(args, {"reservoirs": data}, lines)
    return 0


def cmd_run_job(args: argparse.Namespace) -> int:
    """Internal: the body of a background job process started by the dashboard."""
    run_job(_workspace(args), args.job_id, {**cycle_job.BODIES, **fleet_job.BODIES})
    return 0


# ---------------------------------------------------------------- parser


def _parser() -> argparse.ArgumentParser:
    """The command-line grammar; kept free of heavy imports so --help is instant."""
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand's copy of the flag must not reset what was given before the subcommand
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print machine-readable JSON")
    common.add_argument(
        "--workspace", default=argparse.SUPPRESS, help="workspace folder (default: $SENTINEL_WORKSPACE or ./workspace)"
    )

    csv_opts = argparse.ArgumentParser(add_help=False)
    csv_opts.add_argument("--date-column", help="name of the date column (default: detected)")
    order = csv_opts.add_mutually_exclusive_group()
    order.add_argument("--dayfirst", dest="dayfirst", action="store_const", const=True, help="dates are day/month/year")
    order.add_argument(
        "--monthfirst", dest="dayfirst", action="store_const", const=False, help="dates are month/day/year"
    )

    train_opts = argparse.ArgumentParser(add_help=False)
    train_opts.add_argument(
        "--features", help="comma-separated covariates (default: all non-state variables; '' for none)"
    )
    train_opts.add_argument("--n-steps", type=int, help="days of history the model sees (default 14)")
    train_opts.add_argument("--horizon", type=int, help="days ahead to forecast (default 7)")
    train_opts.add_argument(
        "--epochs", type=int, help="maximum epochs; early stopping usually ends sooner (default 200)"
    )
    train_opts.add_argument(
        "--learning-rate", type=float, help="Adam learning rate (default: the model's own; 3e-4, the ensemble 1e-3)"
    )
    train_opts.add_argument("--batch-size", type=int, help="windows per training step (default 64)")
    train_opts.add_argument(
        "--patience", type=int, help="epochs without validation improvement before stopping (default 10)"
    )
    train_opts.add_argument("--test-from", help="first day of the test period, YYYY-MM-DD (default: last 15%%)")
    train_opts.add_argument("--seed", type=int, help="random seed (default 42)")
    act = train_opts.add_mutually_exclusive_group()
    act.add_argument(
        "--activate", dest="activate", action="store_const", const=True, help="make the new version active"
    )
    act.add_argument("--no-activate", dest="activate", action="store_const", const=False, help="never activate it")

    parser = argparse.ArgumentParser(
        prog="python -m core",
        description="Reservoir Sentinel: import reservoir readings, train forecasters, issue forecasts.",
        parents=[common],
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("sample", parents=[common], help="add the built-in sample reservoir")
    p.add_argument("--csv", help="also write the sample readings to this CSV file")
    p.add_argument("--if-empty", action="store_true", help="only add it when the workspace has no reservoirs yet")
    p.set_defaults(func=cmd_sample)

    add_ingest_commands(sub, common, csv_opts, _emit, _workspace)

    p = sub.add_parser("train", parents=[common, train_opts], help="train a new model version")
    p.add_argument("--reservoir", help="the reservoir to train (required unless --fleet)")
    p.add_argument(
        "--target", help="variable to forecast, e.g. level or storage (required unless --fleet: the kind most have)"
    )
    add_fleet_options(p)
    p.add_argument("--model", help=f"zoo member to train (default {DEFAULT_MODEL}): {', '.join(MODEL_NAMES)}")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "compare",
        parents=[common, train_opts],
        help="train several models on the same split and rank them (leaderboard)",
        description="Train zoo members with the same settings and split, store each as a version, rank them by "
        "validation MAE and report test metrics. --activate makes the best active; --no-activate leaves the "
        "active version alone; by default the best becomes active when it beats the active version on validation.",
    )
    p.add_argument("--reservoir", required=True)
    p.add_argument("--target", required=True, help="variable to forecast, e.g. level or storage")
    p.add_argument("--models", help=f"comma-separated zoo members (default: all): {', '.join(MODEL_NAMES)}")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "retrain", parents=[common], help="retrain with the active version's settings on all current data"
    )
    p.add_argument("--reservoir", required=True)
    act = p.add_mutually_exclusive_group()
    act.add_argument("--activate", dest="activate", action="store_const", const=True, help="activate the new version")
    act.add_argument(
        "--auto-activate",
        dest="activate",
        action="store_const",
        const=None,
        help="activate it if its validation MAE beats the active one",
    )
    p.set_defaults(func=cmd_retrain, activate=False)

    p = sub.add_parser("forecast", parents=[common], help="forecast the next days")
    p.add_argument("--reservoir", required=True)
    p.add_argument("--version", type=int, help="model version (default: active)")
    p.add_argument("--as-of", help="issue the forecast as if on this past date (hindcast), YYYY-MM-DD")
    add_what_if_option(p)
    p.set_defaults(func=cmd_forecast)

    p = sub.add_parser("levels", parents=[common], help="list or edit operating levels and the alert trigger")
    p.add_argument("--reservoir", required=True)
    p.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE:SIDE:SEVERITY",
        help="add or replace a level, e.g. 'Flood warning=313.5:flood:warning' (side flood|drought, "
        "severity watch|warning|danger); repeatable",
    )
    p.add_argument("--remove", action="append", metavar="NAME", help="remove a level by name; repeatable")
    p.add_argument(
        "--variable",
        help="variable the levels apply to (default: the active model's target if recorded, else level, else storage)",
    )
    p.add_argument("--trigger", type=float, help="alert when a crossing is at least this likely (0-1, default 0.2)")
    p.set_defaults(func=cmd_levels)

    add_edit_commands(sub, common, _emit, _workspace)
    add_curve_command(sub, common, _emit, _workspace)
    add_bulletin_command(sub, common, _emit, _workspace)
    add_qc_command(sub, common, _emit, _workspace)
    add_cycle_command(sub, common, _emit, _workspace)
    add_store_commands(sub, common, _emit, _workspace)
    add_notify_commands(sub, common, _emit, _workspace)
    add_users_commands(sub, common, _emit, _workspace)

    p = sub.add_parser("hindcast", parents=[common], help="forecasts the model would have issued on past days")
    p.add_argument("--reservoir", required=True)
    p.add_argument("--from", dest="date_from", required=True, help="first issue date, YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", required=True, help="last issue date, YYYY-MM-DD")
    p.add_argument("--version", type=int, help="model version (default: active)")
    add_what_if_option(p)
    p.set_defaults(func=cmd_hindcast)

    p = sub.add_parser("verify", parents=[common], help="hits, misses and false alarms of alerts on the test period")
    p.add_argument("--reservoir", required=True)
    p.add_argument("--version", type=int, help="model version (default: active)")
    p.add_argument("--trigger", type=float, help="alert trigger probability (default: the reservoir's)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("export", parents=[common], help="write the forecast chart or table to a file")
    p.add_argument("--reservoir", required=True)
    p.add_argument("--format", required=True, choices=["png", "svg", "pdf", "html", "csv"])
    p.add_argument("--out", required=True, help="output file (or an existing folder: a name is chosen)")
    p.add_argument("--version", type=int, help="model version (default: active)")
    p.add_argument("--as-of", help="export a hindcast issued on this past date")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("models", parents=[common], help="model versions of a reservoir")
    p.add_argument("--reservoir", required=True)
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("activate", parents=[common], help="make a stored version active")
    p.add_argument("--reservoir", required=True)
    p.add_argument("--version", type=int, required=True)
    p.set_defaults(func=cmd_activate)

    p = sub.add_parser("reservoirs", parents=[common], help="list reservoirs in the workspace")
    p.set_defaults(func=cmd_reservoirs)
    p = sub.add_parser("run-job", parents=[common])  # internal; no help entry
    p.add_argument("job_id", type=int)
    p.set_defaults(func=cmd_run_job)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; user errors become one line on stderr and a non-zero exit, never a traceback."""
    args = _parser().parse_args(argv)
    args.workspace = getattr(args, "workspace", None)
    args.json = getattr(args, "json", False)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        return int(args.func(args))
    except FileNotFoundError as exc:
        print(f"error: file not found: {exc.filename or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except PermissionError as exc:
        where = exc.filename or exc
        print(f"error: permission denied: {where}; check who owns it and that it is writable", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as exc:  # disk full and friends outside the store: say which, not "unexpected"
        if exc.errno not in (errno.ENOSPC, errno.EFBIG):
            raise
        where = f"{exc.strerror}: {exc.filename or ''}"
        print(f"error: the disk is full ({where}); free some space and try again", file=sys.stderr)
        return EXIT_FAILURE
    except ValueError as exc:  # every user-facing error class in core derives from ValueError
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader left (`... | head`): core/__main__.py ends quietly
        raise
    except Exception as exc:  # noqa: BLE001 - last resort: one line, not a traceback
        if args.debug:
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return EXIT_FAILURE
