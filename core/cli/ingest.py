"""`python -m core inspect` and `import`: read a file (CSV, USGS RDB, CDEC CSV, Excel workbook), report on it as
the operator declared its columns, and merge it.

Both take the same reading options and declarations, so what `inspect` reports is what `import` would store:
`--column COL=VARIABLE[:UNIT]` judges a column as that variable in that unit (a negative-storage run is named
before anything is stored), `--skip COL` leaves a column out, `--sheet` picks a workbook's sheet. `import` adds
where the readings go (`--reservoir`, `--variable` for a wide file, or neither for an agency file with several
stations, renamed with `--station ID=NAME`) and `--out-of-range VARIABLE=mask|keep|relative`, the choice the report
asks for, stored with the import.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from core.app.pipeline import ImportRefused, import_csv
from core.cli.parts import Emit, WorkspaceOf
from core.data.balance import check_balance
from core.data.columns import guess_columns, parse_declaration, proposed_mapping
from core.data.config import OUT_OF_RANGE_DECISIONS
from core.data.ingest import ReadOptions, read_csv
from core.data.screen import spans

EXIT_BAD_INPUT = 2
DECLARE_HELP = (
    "declare what a column holds and its unit, e.g. 'c_elev=level:ft' (units such as m, ft, m3, hm3, acre-ft, "
    "mcft, TMC, m3/s, cfs, cusecs, ML/day, mm, in); checks follow the declaration; repeatable"
)


def _pairs(specs: list[str] | None, flag: str, example: str) -> dict[str, str]:
    """'A=B' options as a dict; a malformed one is a ValueError naming it."""
    out = {}
    for spec in specs or []:
        key, sep, value = spec.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"{flag} '{spec}': write {example}.")
        out[key.strip()] = value.strip()
    return out


def read_options(args: argparse.Namespace, declarations: list[Any] = ()) -> Any:
    """ReadOptions from the command line: date column, day order, sheet, skipped and declared columns."""
    return ReadOptions(
        date_column=args.date_column,
        dayfirst=args.dayfirst,
        sheet=getattr(args, "sheet", None),
        skip=tuple(args.skip) if getattr(args, "skip", None) else None,
        variables=tuple((d.column, d.variable) for d in declarations),
        units=tuple((d.column, d.unit) for d in declarations if d.unit),
    )


def _declarations(args: argparse.Namespace) -> list[Any]:
    """The --column declarations."""
    return [parse_declaration(spec) for spec in args.column or []]


def guess_lines(guesses: Any) -> list[str]:
    """'  c_elev -> level (ft): declared' per column: how each column is (or would be) stored."""
    return [f"  {g.column} -> {g.variable} ({g.unit or 'no unit'}): {g.note}" for g in guesses]


def cmd_inspect(args: argparse.Namespace, emit: Emit) -> int:
    """Validation report of a file as declared (nothing stored), with the water-balance check when it applies."""
    declarations = _declarations(args)
    parsed = read_csv(Path(args.file), options=read_options(args, declarations))
    data = parsed.report.to_dict()
    guesses = []
    if parsed.frame is not None:
        guesses = guess_columns(list(parsed.frame.columns), declarations, spans(parsed.frame), parsed.source)
        if parsed.source is None or not parsed.source.multi_station:  # one reservoir: say what import would store
            stored = proposed_mapping(guesses)
            guesses = [g.as_stored(stored[g.column]) for g in guesses]
        data["columns_read_as"] = [g.to_dict() for g in guesses]
    balance = check_balance(parsed.frame, parsed.units) if parsed.frame is not None else None
    if balance is not None:
        data["balance"] = balance.to_dict()
    extra = balance.summary_lines() if balance is not None and balance.available else []
    how = ["  how each column would be stored:", *guess_lines(guesses)] if guesses else []
    emit(args, data, lambda: [*parsed.report.summary_lines(), *how, *extra])
    return 0 if parsed.report.ok else EXIT_BAD_INPUT


def cmd_import(args: argparse.Namespace, emit: Emit, workspace: WorkspaceOf) -> int:
    """Validate and merge a file into the workspace."""
    ws = workspace(args)
    units = {args.variable.lower(): args.unit} if args.unit and args.variable else {}
    declarations = _declarations(args)
    decisions = _pairs(args.out_of_range, "--out-of-range", "VARIABLE=mask|keep|relative, e.g. storage=relative")
    for variable, decision in decisions.items():
        if decision not in OUT_OF_RANGE_DECISIONS:
            raise ValueError(f"--out-of-range {variable}={decision}: choose mask, keep or relative.")
    try:
        outcome = import_csv(
            ws,
            Path(args.file),
            reservoir=args.reservoir,
            variable=args.variable,
            options=read_options(args),
            units=units,
            declarations=declarations,
            stations=_pairs(args.station, "--station", "ID=NAME, e.g. SHA=Shasta"),
            decisions=decisions,
        )
    except ImportRefused as exc:
        report = exc.parsed.report
        if args.json:
            emit(args, {"imported": False, "report": report.to_dict()}, [])
        else:
            print("Import refused; nothing was stored.", file=sys.stderr)
            for line in report.summary_lines():
                print(line, file=sys.stderr)
        return EXIT_BAD_INPUT

    def lines() -> list[str]:
        out = []
        for r in outcome.results:
            note = " (this file was already imported; nothing changed)" if r.already_imported else ""
            out.append(f"{r.reservoir}: {r.added} readings added, {r.changed} changed, {r.unchanged} unchanged{note}")
        out += [f"  read as: {', '.join(outcome.report['described'])}"] if outcome.report["described"] else []
        warnings = [i for i in outcome.report["issues"] if i["severity"] == "warning"]
        out += [f"warning: {w['message']}" for w in warnings]
        out += guess_lines(outcome.columns)
        out += [f"  left out: {c}" for c in outcome.report["skipped"]]
        out += [
            f"warning: column '{c.column}' was stored as {c.variable} in {c.unit or 'no unit'} on a weak guess; "
            f"if that is wrong, declare it: --column '{c.column}=VARIABLE:UNIT' (e.g. "
            f"{c.column}={c.shared or c.variable}:{c.unit or 'UNIT'})"
            for c in outcome.weak_guesses
        ]
        return out

    emit(args, {"imported": True, **outcome.to_dict()}, lines)
    return 0


def add_ingest_commands(
    sub: Any, common: argparse.ArgumentParser, csv_opts: argparse.ArgumentParser, emit: Emit, workspace: WorkspaceOf
) -> None:
    """The `inspect` and `import` sub-commands."""
    reading = argparse.ArgumentParser(add_help=False)
    reading.add_argument("--sheet", help="a workbook's sheet to read (default: the first)")
    reading.add_argument("--column", action="append", metavar="COL=VARIABLE[:UNIT]", help=DECLARE_HELP)
    reading.add_argument(
        "--skip",
        action="append",
        metavar="COL",
        help="leave a column out of the import (its bad cells are then only a warning); repeatable. Default: "
        "lagged copies ('... on previous day', 'last year ...') and agency codes the app does not map",
    )

    p = sub.add_parser(
        "inspect",
        parents=[common, csv_opts, reading],
        help="validation report of a file (CSV, USGS RDB, CDEC CSV, .xlsx) as declared; stores nothing",
    )
    p.add_argument("file")
    p.set_defaults(func=lambda args: cmd_inspect(args, emit))

    p = sub.add_parser(
        "import", parents=[common, csv_opts, reading], help="validate a file and merge it into the workspace"
    )
    p.add_argument("file")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--reservoir", help="the file is one reservoir; its columns are variables")
    who.add_argument("--variable", help="wide file: its columns are reservoirs, all holding this variable")
    p.add_argument("--unit", help="unit of the variable in a wide file, e.g. mcft")
    p.add_argument(
        "--station",
        action="append",
        metavar="ID=NAME",
        help="an agency file with several stations (no --reservoir): the reservoir a station's readings go to "
        "(default: the station id), e.g. SHA=Shasta; repeatable",
    )
    p.add_argument(
        "--out-of-range",
        action="append",
        metavar="VARIABLE=DECISION",
        help="what cleaning does with values outside a variable's physical range, decided before the import: "
        "mask (default), keep, or relative (storage counted from a pool bottom); repeatable",
    )
    p.set_defaults(func=lambda args: cmd_import(args, emit, workspace))
