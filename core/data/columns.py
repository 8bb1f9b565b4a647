"""What each column of a file is: declared by the operator (COL=VARIABLE[:UNIT]) or guessed from its header.

A guess says where it came from and whether it is weak: a variable read from an abbreviation or a header with
words the app does not know ('c_elev'), with no unit in the header, is a guess an operator must confirm, since
'level, m' for a column kept in feet would make every check and forecast wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from core.data.units import check_unit, find_unit, normalize_unit
from core.data.variables import KINDS, canonical_name, guess_unit, header_words

# Header words that name a variable outright; any other alias ('elev', 'wl', 'in') is an abbreviation.
FULL_WORDS = frozenset(
    {
        "level",
        "elevation",
        "stage",
        "storage",
        "volume",
        "inflow",
        "outflow",
        "release",
        "releases",
        "discharge",
        "rainfall",
        "rain",
        "precipitation",
        "evaporation",
    }
)
FILLER_WORDS = frozenset({"daily", "mean", "avg", "average", "total", "reservoir", "res", "obs", "observed", "value"})


class DeclarationError(ValueError):
    """A --column declaration cannot be read or does not fit the file; the message names it."""


@dataclass(frozen=True)
class ColumnDeclaration:
    """The operator's word on one column: which variable it holds and, optionally, in which unit."""

    column: str
    variable: str
    unit: str | None = None


@dataclass(frozen=True)
class ColumnGuess:
    """What the app proposes for one column, and how it knows: declared, read from the header, or assumed."""

    column: str
    variable: str
    unit: str | None
    variable_source: str  # "declared", "header", "abbreviation", "unknown"
    unit_source: str  # "declared", "header", "default", "none"
    weak: bool

    @property
    def note(self) -> str:
        """One phrase for the mapping table and the CLI: what is a guess and what to check."""
        if self.variable_source == "declared":
            return "declared" + ("" if self.unit_source == "declared" else f"; unit {self._unit_words()}")
        words = {
            "header": f"guessed from the header word for {self.variable}",
            "abbreviation": f"guessed from an abbreviation in '{self.column}'",
            "unknown": "not a variable the app knows: stored under this name, no range checks",
        }[self.variable_source]
        text = f"{words}; unit {self._unit_words()}"
        return f"weak guess, confirm: {text}" if self.weak else text

    def _unit_words(self) -> str:
        """Where the unit came from, in words."""
        return {
            "declared": f"{self.unit} declared",
            "header": f"{self.unit} from the header",
            "default": f"{self.unit} assumed (not in the header)",
            "none": "not given",
        }[self.unit_source]

    def to_dict(self) -> dict[str, object]:
        """JSON form for `import --json` (the 'columns' key): the fields plus the note in words."""
        return {**asdict(self), "note": self.note}


def parse_declaration(spec: str) -> ColumnDeclaration:
    """Read 'c_elev=level:ft' (the CLI's --column) into a declaration; the unit part is optional."""
    column, sep, rest = spec.partition("=")
    variable, _, unit = rest.partition(":")
    if not sep or not column.strip() or not variable.strip():
        raise DeclarationError(
            f"--column '{spec}': write COLUMN=VARIABLE or COLUMN=VARIABLE:UNIT, e.g. 'c_elev=level:ft'."
        )
    variable = canonical_name(variable) if canonical_name(variable) in KINDS else variable.strip()
    return ColumnDeclaration(column.strip(), variable, normalize_unit(unit))


def check_declarations(declarations: Sequence[ColumnDeclaration], columns: Sequence[str]) -> list[str]:
    """Problems that block an import: a declared column the file lacks, or a unit that does not fit its variable."""
    problems = []
    by_lower = {c.lower(): c for c in columns}
    for d in declarations:
        if d.column.lower() not in by_lower:
            problems.append(
                f"--column {d.column}: the file has no column '{d.column}'. Its value columns are: "
                f"{', '.join(columns) or 'none'}."
            )
            continue
        problem = check_unit(d.variable, d.unit, f"--column {d.column}")
        if problem:
            problems.append(problem)
    return problems


def guess_column(column: str, declared: ColumnDeclaration | None = None) -> ColumnGuess:
    """The variable and unit proposed for one column, with where each came from and whether to ask."""
    header_unit = guess_unit(column)
    if declared is not None:
        unit, unit_source = _unit_for(declared.variable, declared.unit, header_unit)
        return ColumnGuess(column, declared.variable, unit, "declared", unit_source, False)
    variable = canonical_name(column)
    source = _variable_source(column, variable)
    unit, unit_source = _unit_for(variable, None, header_unit)
    weak = source == "abbreviation" and unit_source != "header"
    return ColumnGuess(column, variable, unit, source, unit_source, weak)


def guess_columns(columns: Sequence[str], declarations: Sequence[ColumnDeclaration] = ()) -> list[ColumnGuess]:
    """One guess per column; a declared column (matched in any case) takes its declaration."""
    by_column = {d.column.lower(): d for d in declarations}
    return [guess_column(column, by_column.get(column.lower())) for column in columns]


def _variable_source(column: str, variable: str) -> str:
    """'header' when the header names the variable outright, 'abbreviation' otherwise, 'unknown' for no kind."""
    if variable not in KINDS:
        return "unknown"
    tokens = header_words(column)
    if {"qin", "qout"} & set(tokens) or "_".join(tokens[:2]) in ("q_in", "q_out"):
        return "header"  # hydrologists' standard names for inflow and outflow
    words = [w for w in tokens if find_unit(w) is None and w not in FILLER_WORDS]
    if words and all(w in FULL_WORDS for w in words):
        return "header"
    return "abbreviation"


def _unit_for(variable: str, declared: str | None, header: str | None) -> tuple[str | None, str]:
    """The unit and its source: declared, else read from the header, else the variable kind's default."""
    if declared:
        return normalize_unit(declared), "declared"
    if header:
        return header, "header"
    kind = KINDS.get(variable)
    if kind and kind.default_unit:
        return kind.default_unit, "default"
    return None, "none"
