"""The cycle's inbox: files dropped in a folder are imported, then moved to processed/, failed/ or held/ beside them.

A file names its reservoir by its stem (`Poondi.csv` -> reservoir "Poondi"; an agency file with several stations
becomes one reservoir per station), unless the inbox holds a mapping file, `inbox.toml` (or `inbox.json` with the
same keys under "file"), whose first matching entry decides:

    [[file]]
    pattern = "chembarambakkam_*.csv"     # shell pattern on the file name, any case
    reservoir = "Chembarambakkam"         # the file is one reservoir; its columns are variables
    columns = ["q_in=inflow:cfs"]         # like import --column COL=VARIABLE[:UNIT] ...
    dayfirst = true                       # dates are day/month/year (false: month/day/year)
    date_column = "Date"
    skip = ["Remarks"]                    # columns left out (like import --skip)
    sheet = "Daily"                       # a workbook's sheet (default: the first)

    [[file.column]]                       # ... or one table per column
    column = "c_elev"
    variable = "level"
    unit = "ft"

    [[file]]
    pattern = "chennai_levels_*.csv"
    variable = "storage"                  # wide file: its columns are reservoirs, all holding this variable
    unit = "mcft"

Files directly in the inbox with the extensions INBOX_SUFFIXES are taken (write elsewhere and rename into the
inbox, so a half-copied file is never read). The inbox never imports on a guess: a file the Data page would ask
to confirm (a column read from an abbreviation with no unit, a header unit that contradicts its variable, a USGS
discharge that may be the inflow or the release) goes to held/ with a `<name>.reason.txt` naming each column and
the question; declare the columns in inbox.toml and move the file back. A refused file goes to failed/ with its
reason beside it and the others go on; a name already taken in processed/, failed/ or held/ gets a UTC timestamp
added, so nothing is ever overwritten. A broken mapping file stops the inbox (nothing is imported or moved, the
reason is reported) but not the cycle.
"""

from __future__ import annotations

import fnmatch
import json
import shutil
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.app.pipeline import NeedsConfirmation, import_csv
from core.data.columns import parse_declaration
from core.data.ingest import ReadOptions
from core.data.variables import canonical_name
from core.store.workspace import Workspace

MAPPING_FILES = ("inbox.toml", "inbox.json")
PROCESSED, FAILED, HELD = "processed", "failed", "held"
REASON_SUFFIX = ".reason.txt"
INBOX_SUFFIXES = (".csv", ".txt", ".tsv", ".rdb", ".xlsx")
_RULE_KEYS = {
    "pattern",
    "reservoir",
    "variable",
    "unit",
    "columns",
    "column",
    "date_column",
    "dayfirst",
    "skip",
    "sheet",
}
_COLUMN_KEYS = {"column", "variable", "unit"}


class InboxError(ValueError):
    """The inbox or its mapping file cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class InboxRule:
    """One mapping entry: which files (pattern) go to which reservoir or variable, read how."""

    pattern: str
    reservoir: str | None = None
    variable: str | None = None
    unit: str | None = None
    columns: tuple[str, ...] = ()
    date_column: str | None = None
    dayfirst: bool | None = None
    skip: tuple[str, ...] = ()
    sheet: str | None = None
    from_stem: bool = False  # the reservoir is the file stem (no entry names it): several stations split instead

    @classmethod
    def from_dict(cls, data: Any, where: str) -> InboxRule:
        """Read one entry; an unknown key or a wrong type is an InboxError naming the entry."""
        if not isinstance(data, dict) or not isinstance(data.get("pattern"), str) or not data["pattern"].strip():
            raise InboxError(f'{where}: every [[file]] entry needs a pattern, e.g. pattern = "poondi*.csv".')
        unknown = set(data) - _RULE_KEYS
        if unknown:
            raise InboxError(
                f"{where}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(_RULE_KEYS))}."
            )
        if data.get("reservoir") and data.get("variable"):
            raise InboxError(f"{where}: give either reservoir (one-reservoir file) or variable (wide file), not both.")
        columns = data.get("columns") or ()
        if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
            raise InboxError(f"{where}: columns is a list of 'COL=VARIABLE[:UNIT]' strings.")
        skip = data.get("skip") or ()
        if isinstance(skip, str) or not all(isinstance(c, str) for c in skip):
            raise InboxError(f'{where}: skip is a list of column names, e.g. skip = ["Remarks"].')
        if data.get("dayfirst") is not None and not isinstance(data["dayfirst"], bool):
            raise InboxError(f"{where}: dayfirst is true or false.")
        text = {
            k: (str(data[k]).strip() or None) if data.get(k) is not None else None
            for k in ("reservoir", "variable", "unit", "date_column", "sheet")
        }
        declared = (*columns, *_column_tables(data.get("column"), where))
        return cls(
            pattern=data["pattern"].strip(),
            columns=declared,
            dayfirst=data.get("dayfirst"),
            skip=tuple(skip),
            **text,
        )

    def matches(self, name: str) -> bool:
        """Whether a file name fits the pattern (case-insensitive)."""
        return fnmatch.fnmatch(name.lower(), self.pattern.lower())


def _column_tables(tables: Any, where: str) -> list[str]:
    """[[file.column]] tables (column, variable, unit) as 'COL=VARIABLE[:UNIT]' declarations."""
    if tables is None:
        return []
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise InboxError(f'{where}: write each column as a [[file.column]] table: column = "c_elev", variable = ...')
    out = []
    for i, table in enumerate(tables, start=1):
        unknown = set(table) - _COLUMN_KEYS
        if unknown:
            raise InboxError(
                f"{where}, column {i}: unknown key(s) {', '.join(sorted(unknown))}; known: column, variable, unit."
            )
        column, variable = str(table.get("column") or "").strip(), str(table.get("variable") or "").strip()
        if not column or not variable:
            raise InboxError(
                f'{where}, column {i}: needs both column and variable, e.g. column = "c_elev", variable = "level".'
            )
        unit = str(table.get("unit") or "").strip()
        out.append(f"{column}={variable}" + (f":{unit}" if unit else ""))
    return out


@dataclass(frozen=True)
class InboxOutcome:
    """What the inbox did: the files imported (with counts), refused (with reasons) and held (with questions)."""

    imported: tuple[dict[str, Any], ...] = ()
    failed: tuple[dict[str, Any], ...] = ()
    held: tuple[dict[str, Any], ...] = ()
    folder: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The `cycle --json` "inbox" object: {"imported": [...], "failed": [{"file", "reason", ...}],
        "held": [{"file", "reason", "questions", "moved_to"}]}."""
        return {"imported": list(self.imported), "failed": list(self.failed), "held": list(self.held)}


@dataclass
class _Tally:
    """Mutable collector while the inbox is walked."""

    imported: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    held: list[dict[str, Any]] = field(default_factory=list)


def load_rules(folder: Path) -> list[InboxRule]:
    """The mapping entries of the inbox (none when it has no mapping file)."""
    for name in MAPPING_FILES:
        path = folder / name
        if not path.exists():
            continue
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text) if name.endswith(".toml") else json.loads(text)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InboxError(f"{path.name} cannot be read: {exc}. Fix it; no inbox file was imported.") from exc
        entries = data.get("file", []) if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise InboxError(f"{path.name}: the entries go under 'file' ([[file]] in TOML, \"file\": [...] in JSON).")
        return [InboxRule.from_dict(e, f"{path.name} entry {i + 1}") for i, e in enumerate(entries)]
    return []


def rule_for(name: str, rules: Sequence[InboxRule]) -> InboxRule:
    """The first entry matching the file, or the default: the file stem names the reservoir."""
    found = next((r for r in rules if r.matches(name)), None)
    if found is None or not (found.reservoir or found.variable):
        stem = Path(name).stem.strip()
        return InboxRule(pattern=name, reservoir=stem, from_stem=True, **({} if found is None else _reading(found)))
    return found


def _reading(rule: InboxRule) -> dict[str, Any]:
    """The reading options of an entry that names no reservoir (they apply with the file stem)."""
    keys = ("columns", "date_column", "dayfirst", "unit", "skip", "sheet")
    return {k: getattr(rule, k) for k in keys}


def inbox_files(folder: Path) -> list[Path]:
    """The files waiting in the inbox (not in processed/, failed/ or held/), in name order."""
    return sorted(
        (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in INBOX_SUFFIXES), key=lambda p: p.name
    )


def process_inbox(ws: Workspace, folder: str | Path) -> InboxOutcome:
    """Import every waiting file, move each to processed/ or failed/; one bad file never stops the others."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InboxError(f"The inbox {folder} is not a folder; create it or pass --inbox DIR.")
    tally = _Tally()
    try:
        rules = load_rules(folder)
    except InboxError as exc:
        return InboxOutcome(failed=({"file": _mapping_name(folder), "reason": str(exc)},), folder=str(folder))
    for path in inbox_files(folder):
        _take(ws, path, rule_for(path.name, rules), tally)
    return InboxOutcome(
        imported=tuple(tally.imported), failed=tuple(tally.failed), held=tuple(tally.held), folder=str(folder)
    )


def _mapping_name(folder: Path) -> str:
    """The mapping file present in the inbox (for the report)."""
    return next((n for n in MAPPING_FILES if (folder / n).exists()), MAPPING_FILES[0])


def _take(ws: Workspace, path: Path, rule: InboxRule, tally: _Tally) -> None:
    """Import one file with its rule and move it; a refusal is recorded with its reason, a guess held with its
    questions."""
    try:
        outcome = _import(ws, path, rule)
    except NeedsConfirmation as exc:  # the Data page would ask: never imported on a guess
        moved = move_aside(path, HELD)
        reason = held_reason(path.name, exc.questions)
        (moved.parent / f"{moved.name}{REASON_SUFFIX}").write_text(reason, encoding="utf-8")
        tally.held.append(
            {"file": path.name, "reason": reason.strip(), "questions": list(exc.questions), "moved_to": str(moved)}
        )
        return
    except (ValueError, OSError) as exc:  # ImportRefused, StoreError, a bad --column spec, an unreadable file
        moved = move_aside(path, FAILED)
        (moved.parent / f"{moved.name}{REASON_SUFFIX}").write_text(f"{exc}\n", encoding="utf-8")
        tally.failed.append({"file": path.name, "reason": str(exc), "moved_to": str(moved)})
        return
    moved = move_aside(path, PROCESSED)
    tally.imported.append(
        {
            "file": path.name,
            "reservoirs": [r.reservoir for r in outcome.results],
            "added": sum(r.added for r in outcome.results),
            "changed": sum(r.changed for r in outcome.results),
            "already_imported": all(r.already_imported for r in outcome.results),
            "moved_to": str(moved),
        }
    )


def held_reason(name: str, questions: Sequence[str]) -> str:
    """The held file's reason: each question, and how to answer it so the feed runs unattended."""
    lines = [f"{name} was held, not imported: the Data page would ask to confirm how it is read."]
    lines += [f"- {q}" for q in questions]
    lines += [
        "Declare the columns in the inbox's inbox.toml, e.g.",
        "  [[file]]",
        f'  pattern = "{name}"',
        "  [[file.column]]",
        '  column = "COLUMN"',
        '  variable = "level"',
        '  unit = "ft"',
        "then move the file from held/ back into the inbox (or import it on the Data page).",
    ]
    return "\n".join(lines) + "\n"


def _import(ws: Workspace, path: Path, rule: InboxRule) -> Any:
    """The ordinary import path (core.app.pipeline.import_csv), with the rule's reading options, refusing guesses."""
    units = {canonical_name(rule.variable): rule.unit} if rule.variable and rule.unit else {}
    return import_csv(
        ws,
        path,
        reservoir=rule.reservoir if not rule.variable else None,
        variable=rule.variable,
        options=ReadOptions(
            date_column=rule.date_column, dayfirst=rule.dayfirst, skip=rule.skip or None, sheet=rule.sheet
        ),
        units=units,
        declarations=[parse_declaration(spec) for spec in rule.columns],
        split_stations=rule.from_stem,
        sure_only=True,
    )


def move_aside(path: Path, kind: str) -> Path:
    """Move a file into processed/ or failed/ beside it; a taken name gets a UTC timestamp (never overwritten)."""
    dest_dir = path.parent / kind
    dest_dir.mkdir(exist_ok=True)
    dest = dest_dir / path.name
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    n = 1
    while dest.exists():
        suffix = f".{stamp}" if n == 1 else f".{stamp}-{n}"
        dest = dest_dir / f"{path.stem}{suffix}{path.suffix}"
        n += 1
    shutil.move(str(path), str(dest))
    return dest
