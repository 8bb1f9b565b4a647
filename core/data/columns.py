"""What each column of a file is: declared by the operator (COL=VARIABLE[:UNIT]) or guessed from its header.

A guess says where it came from and whether it is weak: a variable read from an abbreviation or a header with
words the app does not know ('c_elev'), with no unit in the header, is a guess an operator must confirm, since
'level, m' for a column kept in feet would make every check and forecast wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

from core.data.formats import SourceColumn, SourceFile
from core.data.units import check_unit, find_unit, measures, normalize_unit, per_day, quantity_of
from core.data.variables import FULL_WORDS, KINDS, LAG_WORDS, canonical_name, guess_unit, header_words, lag_of

# Words a header may carry beside its variable and unit without making the guess weak.
FILLER_WORDS = frozenset(
    {
        "daily",
        "mean",
        "avg",
        "average",
        "total",
        "reservoir",
        "res",
        "obs",
        "observed",
        "value",
        "today",
        "todays",
        "s",
        "current",
        "present",
        "the",
        "of",
        "at",
        "in",
        "on",
        "gross",
        "live",
    }
)
LAG_TEXT = {"previous_day": "the previous day's value", "last_year": "last year's value on the same date"}


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
    question: str = ""  # what the operator must confirm about a weak guess, in words
    lagged: str | None = None  # "previous_day" / "last_year": a lagged copy, left out unless imported on purpose
    detail: str = ""  # variable_source "format": what the file's format says the column is
    shared: str = ""  # as stored: the variable another column of the reservoir holds, so this one kept its own name

    @property
    def note(self) -> str:
        """One phrase for the mapping table and the CLI: what is a guess and what to check."""
        if self.variable_source == "declared":
            return "declared" + ("" if self.unit_source == "declared" else f"; unit {self._unit_words()}")
        words = {
            "format": f"read from the file: {self.detail}",
            "header": f"guessed from the header word for {self.shared or self.variable}",
            "abbreviation": f"guessed from an abbreviation in '{self.column}'",
            "unknown": "not a variable the app knows: stored under this name, no range checks",
        }[self.variable_source]
        text = f"{words}; unit {self._unit_words()}"
        if self.lagged:
            text = (
                f"a lagged copy ({LAG_TEXT[self.lagged]}): left out unless you import it, and never a covariate by "
                f"default; {text}"
            )
        if self.question:
            text = f"{text}; {self.question}"
        if self.shared:
            text = f"{text}; stored as '{self.variable}': another column of this reservoir holds its {self.shared}"
        return f"weak guess, confirm: {text}" if self.weak else text

    def as_stored(self, name: str) -> ColumnGuess:
        """This guess as the import stored it, so what is printed is what is stored: under `name` (another column
        may hold its variable), and without a unit that was only assumed (the store never takes an assumed unit)."""
        unit, source = (None, "none") if self.unit_source == "default" else (self.unit, self.unit_source)
        shared = self.variable if name != self.variable else ""
        return replace(self, variable=name, unit=unit, unit_source=source, shared=shared)

    def _unit_words(self) -> str:
        """Where the unit came from, in words."""
        return {
            "declared": f"{self.unit} declared",
            "header": f"{self.unit} from the header",
            "default": f"{self.unit} assumed (not in the header)",
            "format": f"{self.unit} as the file gives it",
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


def guess_column(
    column: str, declared: ColumnDeclaration | None = None, span: tuple[float, float] | None = None
) -> ColumnGuess:
    """The variable and unit proposed for one column, with where each came from and whether to ask (`span`: the
    column's lowest and highest value, quoted when the header's unit contradicts its variable)."""
    header_unit = guess_unit(column)
    if declared is not None:
        unit, unit_source = _unit_for(declared.variable, declared.unit, header_unit)
        return ColumnGuess(column, declared.variable, unit, "declared", unit_source, False)
    variable = canonical_name(column)
    lag = lag_of(column)
    base = variable.removesuffix(f"_{lag}") if lag else variable
    source = _variable_source(column, base)
    unit, unit_source = _unit_for(base, None, header_unit)
    unit, question = _unit_question(base, unit, unit_source, span)
    weak = bool(question) or (source == "abbreviation" and unit_source != "header")
    return ColumnGuess(column, variable, unit, source, unit_source, weak, question, lag)


def _unit_question(
    variable: str, unit: str | None, source: str, span: tuple[float, float] | None
) -> tuple[str | None, str]:
    """(unit, question): a header unit that does not measure what the variable is (a 'level' in TMC, a day's
    inflow in a volume) is questioned; a volume given for a flow is proposed per day."""
    found = find_unit(unit) if source == "header" else None
    quantity = quantity_of(variable)
    if found is None or quantity is None or measures(found, quantity):
        return unit, ""
    values = f" (values {span[0]:,.6g} to {span[1]:,.6g})" if span else ""
    daily = per_day(found) if quantity == "flow" else None
    if daily is not None:
        return daily.symbol, (
            f"the header gives a volume, {found.symbol}{values}, for the {variable}: a day's {variable} in "
            f"{found.symbol} is read as {daily.symbol}; confirm, or change the unit"
        )
    return unit, (
        f"the header says {variable} but {found.symbol} is a unit of {found.quantity}{values}: which is it? "
        "Change the variable or the unit"
    )


def format_guess(source: SourceColumn) -> ColumnGuess:
    """What an agency format says a column is (a parameter code, a sensor type), as a guess: sure unless the
    format itself asks (USGS discharge: release or inflow?)."""
    return ColumnGuess(
        source.column,
        source.variable,
        source.unit,
        "format",
        "format" if source.unit else "none",
        bool(source.question),
        source.question,
        None,
        source.note,
    )


def guess_columns(
    columns: Sequence[str],
    declarations: Sequence[ColumnDeclaration] = (),
    spans: dict[str, tuple[float, float]] | None = None,
    source: SourceFile | None = None,
) -> list[ColumnGuess]:
    """One guess per column: a declared column (matched in any case) takes its declaration, else what the file's
    format says about it, else what its header says."""
    by_column = {d.column.lower(): d for d in declarations}
    out = []
    for column in columns:
        declared = by_column.get(column.lower())
        known = source.column(column) if source is not None and declared is None else None
        out.append(format_guess(known) if known else guess_column(column, declared, (spans or {}).get(column)))
    return out


SURENESS = ("declared", "format", "header", "abbreviation", "unknown")  # how a variable was told, surest first


def proposed_mapping(guesses: Sequence[ColumnGuess]) -> dict[str, str]:
    """Column -> variable name from the guesses. Two columns never merge into one variable: of those guessed as
    the same variable the surest (declared, then the format's, then a whole header word; the first on a tie)
    takes it and the others keep their own tidy names, so a reservoir still has its storage."""
    holder: dict[str, ColumnGuess] = {}
    for g in guesses:
        best = holder.get(g.variable)
        if best is None or SURENESS.index(g.variable_source) < SURENESS.index(best.variable_source):
            holder[g.variable] = g
    return {g.column: g.variable if holder[g.variable] is g else _own_name(g.column) for g in guesses}


def _own_name(column: str) -> str:
    """A column's own tidy name ('Level 2' -> 'level_2'), for a variable two columns would share."""
    return "_".join(header_words(column)) or "value"


def _variable_source(column: str, variable: str) -> str:
    """'header' when a whole word names the variable and every other word is a unit, a filler or a lag word;
    'abbreviation' otherwise; 'unknown' for a variable the app does not know."""
    if variable not in KINDS:
        return "unknown"
    tokens = header_words(column)
    if {"qin", "qout"} & set(tokens) or "_".join(tokens[:2]) in ("q_in", "q_out"):
        return "header"  # hydrologists' standard names for inflow and outflow
    words = [w for w in tokens if find_unit(w) is None and w not in FILLER_WORDS and w not in LAG_WORDS]
    if any(w in FULL_WORDS for w in words) and all(w in FULL_WORDS or w.isdigit() for w in words):
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
