"""USGS NWIS RDB, as the NWIS "tab-delimited output" description publishes it.

A file is `#` comment lines, then per site a header line (`agency_cd  site_no  datetime  18268_00060_00003
18268_00060_00003_cd ...`), a type line of field widths and kinds (`5s 15s 20d 14n 10s`), and tab-separated rows.
A value column is named `<time-series id>_<parameter code>[_<statistic code>]`; its `_cd` column holds the
data-value qualification codes: `A` approved, `P` provisional, `e` estimated, `<`/`>` bounds (joined with ':' as
in `A:e`, or written together as in older files, `Ae`), and codes for a value that is not there (`Ice`, `Eqp`,
`Dis`, `Ssn`, `Mnt`, `Bkw`, `Fld`, `***`, ...), which may also stand in the value column itself. The comments
list the sites with their names and each time series with its description.

Parameter codes the app reads as reservoir variables are in PARAMETERS; any other code is listed, not guessed.
Provisional and estimated values are kept and reported; a value with a missing-value code is missing, never 0.
A site is one block however many header sections hold it (downloads appended); of several columns for one
variable the preferred statistic, then the time series with the latest readings, then an elevation before gage
height is taken, and each one left out says which was taken instead.
"""

from __future__ import annotations

import re
from collections import defaultdict

import numpy as np
import pandas as pd

from core.data.formats import NOT_MAPPED, Block, SourceColumn, SourceFile
from core.data.reading import CellFrame, Table, cell_frame
from core.data.report import WARNING, Issue, make_issue, plural, runs_text
from core.data.screen import date_runs

FORMAT = "USGS RDB"
DISCHARGE_QUESTION = (
    "USGS discharge (00060) is read as the release (a gauge below the dam measures what leaves the reservoir); "
    "for a gauge above the reservoir it is the inflow: confirm, or declare the column as inflow"
)
GAGE_QUESTION = (
    "gage height (00065) is the water's height above the gauge's own datum, not an elevation: confirm it is the "
    "reservoir's level (levels and curves must then use the same datum)"
)
# parameter code -> (variable, unit, what it is, question to confirm or '')
PARAMETERS: dict[str, tuple[str, str, str, str]] = {
    "00054": ("storage", "acre-ft", "reservoir storage", ""),
    "00062": ("level", "ft", "reservoir water-surface elevation above datum", ""),
    "62614": ("level", "ft", "lake or reservoir water-surface elevation above NGVD 1929", ""),
    "62615": ("level", "ft", "lake or reservoir water-surface elevation above NAVD 1988", ""),
    "00065": ("level", "ft", "gage height", GAGE_QUESTION),
    "00060": ("outflow", "cfs", "discharge", DISCHARGE_QUESTION),
    "00045": ("rainfall", "in", "precipitation, total", ""),
}
STATISTICS = {
    "00003": "daily mean",
    "00006": "daily sum",
    "00011": "instantaneous",
    "00008": "daily median",
    "32400": "observation at 24:00",
    "00001": "daily maximum",
    "00002": "daily minimum",
}
PREFERRED = ("00003", "00006", "00011", "00008", "32400", "")  # the statistic taken when a parameter has several
KEPT_FLAGS = {  # qualification codes whose value is kept, flagged in the report
    "P": "provisional (USGS may still revise them; import the file again later to take the approved values)",
    "e": "estimated by USGS",
    "E": "estimated by USGS",
    "<": "below the value reported (the true value is lower)",
    ">": "above the value reported (the true value is higher)",
}
QUIET = frozenset({"A", "1", "R", "&"})  # approved, write-protected, revised, from affected unit values: nothing to say
MISSING_CODES = {
    "Ice": "ice affected",
    "Eqp": "equipment malfunction",
    "Bkw": "affected by backwater",
    "Dis": "data collection discontinued",
    "Dry": "dry",
    "Fld": "flood damage",
    "Mnt": "maintenance in progress",
    "Pr": "partial-record site",
    "Rat": "rating being developed",
    "Ssn": "monitored seasonally",
    "Tst": "affected by an artificial test",
    "Mis": "missing",
    "***": "temporarily unavailable",
    "--": "parameter not determined",
}
_TYPE = re.compile(r"^\d+[sdn](?:\t\d+[sdn])*$")
_VALUE = re.compile(r"^(?:(?P<ts>\w+?)_)?(?P<parm>\d{5})(?:_(?P<stat>\d{5}))?$")
_SITE = re.compile(r"^#\s+([A-Z]{2,6})\s+(\d{8,15})\s+(\S.*)$")
_PROVIDED = re.compile(r"^#\s*Data provided for site\s+(\d{8,15})", re.IGNORECASE)
SKIP_COLUMNS = ("agency_cd", "site_no", "tz_cd")


def detect(text: str) -> bool:
    """True for an RDB file: after the comments, a tab-separated header with site_no and a type line."""
    lines = [ln for ln in text[:200_000].splitlines() if ln.strip() and not ln.startswith("#")][:2]
    return len(lines) == 2 and "site_no" in lines[0].split("\t") and bool(_TYPE.match(lines[1].strip()))


def _codes(text: str) -> list[str]:
    """The qualification codes of one `_cd` cell: 'A:e' -> ['A', 'e'], 'Ae' -> ['A', 'e'], 'P:Ice' -> ['P', 'Ice'];
    bracketed grades ('[91]') are not codes."""
    out: list[str] = []
    for part in re.sub(r"\[[^\]]*\]", "", text).split(":"):
        part = part.strip()
        if not part:
            continue
        if part in MISSING_CODES or part in KEPT_FLAGS or part in QUIET or len(part) == 1:
            out.append(part)
        elif all(ch in KEPT_FLAGS or ch in QUIET for ch in part):
            out.extend(part)  # older files write codes together: 'Ae'
        else:
            out.append(part)
    return out


class _Comments:
    """What the comment lines say: site names, and each time series' description, by site."""

    def __init__(self, lines: list[str]):
        self.sites: dict[str, str] = {}
        self.series: dict[tuple[str, str, str], str] = {}  # (site, ts id, parameter) -> description
        site = ""
        for line in lines:
            if not line.startswith("#"):
                continue
            if match := _PROVIDED.match(line):
                site = match.group(1)
                continue
            if match := _SITE.match(line):
                self.sites.setdefault(match.group(2), match.group(3).strip())
                continue
            tokens = line[1:].split()
            if len(tokens) >= 3 and re.fullmatch(r"\d{5}", tokens[1]) and re.fullmatch(r"\w+", tokens[0]):
                rest = tokens[2:]
                if rest and re.fullmatch(r"\d{5}", rest[0]):
                    rest = rest[1:]
                if rest and re.fullmatch(r"-?\d+", rest[0]):
                    rest = rest[1:]
                if rest:
                    self.series[(site, tokens[0], tokens[1])] = " ".join(rest)

    def describe(self, site: str, ts: str, parm: str) -> str:
        """The description the file gives a time series ('' when it gives none)."""
        return self.series.get((site, ts, parm)) or self.series.get(("", ts, parm), "")


def _tables(lines: list[str]) -> list[Table]:
    """Every header + type line + rows section of the file, rows with their file lines."""
    tables: list[Table] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.startswith("#"):
            i += 1
            continue
        header = [c.strip() for c in line.split("\t")]
        rows, numbers = [], []
        i += 2  # the header and the type line
        while i < len(lines) and not lines[i].startswith("#"):
            if lines[i].strip():
                if lines[i].split("\t")[0].strip() == "agency_cd":
                    break  # the next site's header
                rows.append([c.strip() for c in lines[i].split("\t")])
                numbers.append(i + 1)
            i += 1
        tables.append(Table(header, rows, numbers, "\t"))
    return tables


def read(text: str, name: str) -> SourceFile | str:
    """An RDB file as one block per site, its columns mapped by parameter code, its codes reported."""
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    comments = _Comments(lines)
    reader = _Reader(comments)
    reader.read_sites(_tables(lines))
    if not reader.blocks:
        return (
            f"{name} is a USGS RDB file without a 'datetime' column and parameter-coded value columns "
            "(<ts>_<parameter>_<statistic>), e.g. an older NWIS layout (dv_dt, dv_va). Download the daily values "
            "again from waterdata.usgs.gov as tab-separated (RDB) output and import that."
        )
    described = [FORMAT, *reader.described()]
    return SourceFile(
        FORMAT,
        tuple(reader.blocks),
        tuple(reader.columns),
        tuple(described),
        tuple(reader.issues),
        {site: comments.sites.get(site, "") for site in reader.sites},
        explained=reader.explained,
    )


class _Reader:
    """Collects blocks, column mappings and findings site by site."""

    def __init__(self, comments: _Comments):
        self.comments = comments
        self.blocks: list[Block] = []
        self.columns: list[SourceColumn] = []
        self.issues: list[Issue] = []
        self.sites: list[str] = []
        self._names: set[str] = set()
        self._read_as: list[str] = []  # 'parameter 00054 storage acre-ft (daily mean)', per mapped column
        self.explained: dict[str, frozenset[int]] = {}  # column -> lines whose cell a missing-value code explains

    def read_sites(self, tables: list[Table]) -> None:
        """Every site's rows, from however many header sections hold it (two downloads appended, a site repeated
        with other parameters), read as one block per site in the order the file first names them."""
        parts: dict[str, list[tuple[pd.DataFrame, pd.Series]]] = {}
        for table in tables:
            parsed = cell_frame(table)
            self.issues += parsed.issues
            if "site_no" not in parsed.cells.columns or "datetime" not in parsed.cells.columns:
                continue
            for site, rows in parsed.cells.groupby("site_no", sort=False):
                parts.setdefault(str(site), []).append((rows, parsed.lines.loc[rows.index]))
        self.sites = list(parts)
        for site, pieces in parts.items():
            cells, lines = _joined(pieces)
            self._site(site, cells, lines)

    def _site(self, site: str, cells: pd.DataFrame, lines: pd.Series) -> None:
        """One site's rows: value columns mapped, codes applied, a block added."""
        multi = len(self.sites) > 1
        days = pd.to_datetime(cells["datetime"], errors="coerce", format="ISO8601").dt.normalize()
        values = [c for c in cells.columns if _VALUE.match(c)]
        present = {c: _present(cells[c]) for c in values}
        last = {c: days[present[c]].max() for c in values}  # each column's last day with a value (NaT: none)
        chosen = self._choose(values, present, last)
        keep = ["datetime"]
        out = cells[["datetime"]].copy()
        for column in values:
            match = _VALUE.match(column)
            assert match is not None
            source = self._mapping(site, column, match, chosen, last)
            named = f"{site} {column}" if multi or column in self._names else column
            self._names.add(named)
            out[named] = self._cells(cells[column], cells.get(f"{column}_cd"), lines, days, named, source[0])
            keep.append(named)
            self.columns.append(SourceColumn(named, site, *source))
        out = out[keep].reset_index(drop=True)
        self.blocks.append(Block(CellFrame(out, lines.reset_index(drop=True), ()), "datetime", site))

    def _choose(
        self, values: list[str], present: dict[str, pd.Series], last: dict[str, pd.Timestamp]
    ) -> dict[str, str]:
        """Parameter -> the value column taken for it: the preferred statistic, then the time series with the latest
        readings (a gauge replaced: the new series), then the most readings; the others are left out."""
        by_parm: dict[str, list[tuple[int, float, int, str]]] = defaultdict(list)
        for column in values:
            match = _VALUE.match(column)
            assert match is not None
            stat = match["stat"] or ""
            rank = PREFERRED.index(stat) if stat in PREFERRED else len(PREFERRED)
            when = -last[column].value if last[column] is not pd.NaT else 0.0
            by_parm[match["parm"]].append((rank, when, -present[column].sum(), column))
        return {parm: min(options)[3] for parm, options in by_parm.items()}

    def _mapping(
        self, site: str, column: str, match: re.Match, chosen: dict[str, str], last: dict[str, pd.Timestamp]
    ) -> tuple[str, str | None, str, str]:
        """(variable, unit, note, question) for one value column; NOT_MAPPED with the reason when it is left out.
        Of the parameters that give one variable, the first in PARAMETERS is taken (an elevation before gage
        height)."""
        parm, stat, ts = match["parm"], match["stat"] or "", match["ts"] or ""
        described = self.comments.describe(site, ts, parm)
        stat_words = STATISTICS.get(stat, f"statistic {stat}" if stat else "")
        what = f"USGS parameter {parm}" + (f" ({described})" if described else "")
        if parm not in PARAMETERS:
            return NOT_MAPPED, None, f"{what}: not a reservoir variable the app reads; left out", ""
        variable, unit, words, question = PARAMETERS[parm]
        note = f"USGS parameter {parm} {words}, {unit}" + (f" ({stat_words})" if stat_words else "")
        if chosen.get(parm) != column:
            other = chosen[parm]
            if _stat(other) != stat:
                return NOT_MAPPED, unit, f"{note}: left out, the {STATISTICS.get(_stat(other), 'other')} is used", ""
            return NOT_MAPPED, unit, f"{note}, {_span(ts, last[column])}: left out, {_span_of(other, last)} is used", ""
        winner = next(p for p in PARAMETERS if PARAMETERS[p][0] == variable and p in chosen)
        if winner != parm:
            instead = f"parameter {winner} ({PARAMETERS[winner][2]}) is the {variable}"
            return NOT_MAPPED, unit, f"{note}: left out, {instead}", ""
        self._read_as.append(f"parameter {parm} {variable} {unit}" + (f" ({stat_words})" if stat_words else ""))
        return variable, unit, note, question

    def _cells(
        self, values: pd.Series, codes: pd.Series | None, lines: pd.Series, days: pd.Series, column: str, variable: str
    ) -> pd.Series:
        """The value cells with missing-value codes blanked; the codes found are reported with their days."""
        text = values.astype(str).str.strip()
        code_lists = [_codes(c) for c in (codes.astype(str).tolist() if codes is not None else [""] * len(text))]
        in_value = text.isin(list(MISSING_CODES)).to_numpy()
        missing: dict[str, np.ndarray] = {}
        flagged: dict[str, np.ndarray] = {}
        unknown: dict[str, np.ndarray] = {}
        for code in {c for cl in code_lists for c in cl} | set(text[in_value]):
            has = np.array([code in cl for cl in code_lists]) | (text.to_numpy() == code)
            if code in MISSING_CODES:
                missing[code] = has & (in_value | (text.to_numpy() == ""))
            elif code in KEPT_FLAGS:
                flagged[code] = has
            elif code not in QUIET:
                unknown[code] = has
        text = text.mask(pd.Series(in_value, index=text.index), "")
        absent = np.logical_or.reduce([np.zeros(len(text), bool), *missing.values()])
        self.explained[column] = frozenset(int(n) for n in lines[absent].tolist())
        flagged = {code: hit & ~absent for code, hit in flagged.items()}
        if variable != NOT_MAPPED:  # a column left out is not reported on
            self._report(column, lines, days, missing, flagged, unknown)
        return text

    def _report(
        self,
        column: str,
        lines: pd.Series,
        days: pd.Series,
        missing: dict[str, np.ndarray],
        flagged: dict[str, np.ndarray],
        unknown: dict[str, np.ndarray],
    ) -> None:
        """One warning per kind of code found in a column, with its runs of days and lines."""
        for code, hit in sorted(missing.items()):
            self._issue(
                "agency_missing",
                column,
                lines,
                days,
                hit,
                f"{{n}} of column '{column}' {{are}} '{code}' ({MISSING_CODES[code]}): no value that day, read as "
                "missing (never as 0)",
            )
        for code, hit in sorted(flagged.items()):
            kind = "provisional" if code == "P" else "estimated" if code in "eE" else "bounded"
            self._issue(kind, column, lines, days, hit, f"{{n}} of column '{column}' {{are}} {KEPT_FLAGS[code]}; kept")
        for code, hit in sorted(unknown.items()):
            self._issue(
                "unknown_code",
                column,
                lines,
                days,
                hit,
                f"{{n}} of column '{column}' carry the code '{code}', which the app does not know; the values are "
                "kept as given: check them against the USGS code list",
            )

    def _issue(self, code: str, column: str, lines: pd.Series, days: pd.Series, hit: np.ndarray, text: str) -> None:
        """A warning for the rows where `hit` holds, with their date runs."""
        if not hit.any():
            return
        n = int(hit.sum())
        mask = pd.Series(hit, index=days.to_numpy()).loc[lambda s: ~s.index.isna()]
        mask = mask.groupby(level=0).any()
        runs = date_runs(mask)
        message = text.format(n=plural(n, "value"), are="is" if n == 1 else "are")
        message += f": {runs_text(runs)}."
        self.issues.append(make_issue(WARNING, code, message, column=column, rows=lines[hit].tolist(), runs=runs))

    def described(self) -> list[str]:
        """'site 08220000 RIO GRANDE ...', 'parameter 00054 storage acre-ft (daily mean)' for the report."""
        out = []
        for site in self.sites:
            name = self.comments.sites.get(site, "")
            out.append(f"site {site}" + (f" {name}" if name else ""))
        out += self._read_as
        unknown = [c for c in self.columns if not c.mapped]
        if unknown:
            out.append("left out: " + "; ".join(f"'{c.column}' ({c.note})" for c in unknown))
        return out


def _present(cells: pd.Series) -> pd.Series:
    """Cells holding a value (not empty, not a missing-value code)."""
    text = cells.astype(str).str.strip()
    return text.ne("") & ~text.isin(list(MISSING_CODES))


def _span(ts: str, last: pd.Timestamp) -> str:
    """'time series 12001, readings to 2024-01-20' for a left-out series' note."""
    end = f"readings to {last:%Y-%m-%d}" if last is not pd.NaT else "no readings"
    return f"time series {ts or '?'}, {end}"


def _span_of(column: str, last: dict[str, pd.Timestamp]) -> str:
    """The same for the series taken instead, named by its column."""
    match = _VALUE.match(column)
    return _span(match["ts"] or "" if match else "", last[column]) + " (the latest readings)"


def _joined(pieces: list[tuple[pd.DataFrame, pd.Series]]) -> tuple[pd.DataFrame, pd.Series]:
    """One site's rows from several header sections: stacked, and rows of one timestamp that only complete each
    other (a column each) made one; rows that disagree on a value stay apart, for the duplicate check to name."""
    if len(pieces) == 1:
        return pieces[0]
    cells = pd.concat([p[0] for p in pieces], ignore_index=True).fillna("")
    lines = pd.concat([p[1] for p in pieces], ignore_index=True)
    stamp = cells["datetime"] + " " + cells.get("tz_cd", pd.Series("", index=cells.index))
    repeated = stamp.duplicated(keep=False)
    if not repeated.any():
        return cells, lines
    values = cells[repeated].drop(columns=["datetime", "site_no"], errors="ignore").replace("", np.nan)
    clash = values.groupby(stamp[repeated]).nunique().gt(1).any(axis=1)
    merge = repeated & stamp.isin(clash.index[~clash])
    merged = cells[merge].replace("", np.nan).groupby(stamp[merge], sort=False).first().fillna("")
    merged_lines = lines[merge].groupby(stamp[merge], sort=False).min()
    cells = pd.concat([cells[~merge], merged.reset_index(drop=True)], ignore_index=True)
    lines = pd.concat([lines[~merge], merged_lines.reset_index(drop=True)], ignore_index=True)
    order = lines.sort_values(kind="stable").index
    return cells.loc[order].reset_index(drop=True), lines.loc[order].reset_index(drop=True)


def _stat(column: str) -> str:
    """The statistic code of a value column's name ('' when it has none)."""
    match = _VALUE.match(column)
    return (match["stat"] or "") if match else ""
