"""Dates in reservoir CSVs: which column holds them, day/month order, and parsing them into timestamps.

The day/month order is decided only from rows that can be read one way (a day above 12); a file where no row can
tell, or rows disagree, gets an error that says how to choose, never a silent guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data import arrowtext
from core.data.report import ERROR, Cells, Issue, make_issue, plural, verb

DATE_NAME_WORDS = frozenset(
    {"date", "datetime", "time", "timestamp", "day", "fecha", "datum", "data", "dia", "jour", "dt", "tarih"}
)
TIME_NAME_WORDS = frozenset({"time", "hour", "hora", "zeit", "heure", "ora"})
SAMPLE_ROWS = 500  # rows looked at when guessing which column holds dates or times

_ISO = re.compile(r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?:(?:T|\s+)(?P<t>.+))?$")
_DMY = re.compile(r"^(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<y>\d{4}|\d{2})(?:(?:T|[\s,]+)(?P<t>.+))?$")
_COMPACT = re.compile(r"^(?P<y>(?:19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})$")
_TIME = re.compile(
    r"^(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?\s*(?P<p>[AaPp]\.?[Mm]\.?)?"
    r"\s*(?:Z|UTC|GMT|(?P<sign>[+-])(?P<oh>\d{2}):?(?P<om>\d{2})|[A-Z]{3,5})?$"  # 'AEST', 'CEST': local time as written
)
_NAMED_FORMATS = (
    "%d-%b-%Y",
    "%d %b %Y",
    "%d-%b-%y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%B %d %Y",
    "%Y-%b-%d",
    "%d.%b.%Y",
    "%d/%b/%Y",
    "%d-%B-%Y",
)
_MONTH_WORD = re.compile(r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)", re.IGNORECASE)


@dataclass(frozen=True, eq=False)
class ParsedDates:
    """Parsed date column: timestamps per row (NaT where invalid) and what decided the order."""

    stamps: pd.Series
    dayfirst: bool | None
    issues: tuple[Issue, ...]
    has_time: bool


# --------------------------------------------------------------------------- one cell


def clock_time(text: str | None) -> tuple[float, int] | None:
    """(seconds after midnight, UTC offset in minutes) for 'HH:MM[:SS] [AM/PM][ offset]' ('01:00-07:00' ->
    (3600, -420)); (0, 0) when absent, None when unreadable. One match gives both."""
    if not text:
        return 0.0, 0
    match = _TIME.match(text.strip())
    if not match:
        return None
    hours, minutes = int(match["H"]), int(match["M"])
    seconds = int(match["S"] or 0)
    if match["p"]:
        hours = hours % 12 + (12 if match["p"].lower().startswith("p") else 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    offset = int(match["oh"]) * 60 + int(match["om"]) if match["sign"] else 0
    return hours * 3600.0 + minutes * 60.0 + seconds, -offset if match["sign"] == "-" else offset


def is_date_name(name: str) -> bool:
    """True for headers such as 'Date', 'DateTime', 'fecha', 'Datum (UTC)'."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", name.strip())
    tokens = set(re.split(r"[^0-9a-zA-Z\u00c0-\u024f]+", text.lower()))
    return bool(tokens & DATE_NAME_WORDS)


def looks_like_date(text: str) -> bool:
    """True when a header cell is itself a date: the file has no header line."""
    return date_share(pd.Series([text]), True) == 1.0


# --------------------------------------------------------------------------- a column


FAST_ROWS = 5000  # from this many cells on, a column written all in plain ISO form is read without a Python loop
_ISO_PLAIN = r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?"  # what loggers and SCADA exports write


def _classify_iso(cells: pd.Series) -> pd.DataFrame | None:
    """The classification of a long column written entirely as 'YYYY-MM-DD[ HH:MM[:SS]]', by vectorised string
    slicing (a million cells in about a second); None when any cell is written otherwise (the loop reads it)."""
    if len(cells) < FAST_ROWS:
        return None
    text = arrowtext.trim(cells)
    if not arrowtext.fullmatch_all(text, _ISO_PLAIN):
        return None
    number = {name: arrowtext.slice_floats(text, lo, hi) for name, (lo, hi) in _ISO_PARTS.items()}
    if (number["H"] > 23).any() or (number["M"] > 59).any() or (number["S"] > 59).any():
        return None  # an impossible time: the loop says which cell
    secs = number["H"] * 3600.0 + number["M"] * 60.0 + number["S"]
    kind = np.full(len(text), "iso", dtype=object)
    frame = {"kind": kind, "y": number["y"], "a": number["m"], "b": number["d"], "secs": secs, "short": False,
             "offset": 0}  # fmt: skip
    return pd.DataFrame(frame, index=cells.index)


_ISO_PARTS = {"y": (0, 4), "m": (5, 7), "d": (8, 10), "H": (11, 13), "M": (14, 16), "S": (17, 19)}


def _classify_dates(cells: pd.Series, allow_compact: bool) -> pd.DataFrame:
    """Split date text into year / a / b components, seconds of day and a kind per row.

    kind: 'iso' (a = month, b = day), 'dmy' (a, b in the order written), 'empty' or 'bad'.
    A long column in plain ISO form is read vectorised (_classify_iso); anything else by a plain-Python loop,
    on purpose: for mixed forms it is several times faster than pandas string methods.
    """
    fast = _classify_iso(cells)
    if fast is not None:
        return fast
    texts = ["" if v is None or v is pd.NA else str(v).strip() for v in cells.tolist()]
    n = len(texts)
    kind = ["bad"] * n
    y = np.full(n, np.nan)
    a = np.full(n, np.nan)
    b = np.full(n, np.nan)
    secs = np.zeros(n)
    offset = np.zeros(n)  # minutes east of UTC a time carries (a clock change shows as two offsets)
    short = np.zeros(n, dtype=bool)  # written NN-NN-NN: the year may come first (18-10-01 for 2018-10-01)
    named: list[int] = []
    for i, text in enumerate(texts):
        if not text:
            kind[i] = "empty"
            continue
        match = _ISO.match(text)
        if match:
            kind[i], y[i], a[i], b[i] = "iso", int(match["y"]), int(match["m"]), int(match["d"])
        else:
            match = _DMY.match(text)
            if match:
                year = int(match["y"])
                if len(match["y"]) == 2:
                    year = _century(year)
                    short[i] = len(match["a"]) == len(match["b"]) == 2
                kind[i], y[i], a[i], b[i] = "dmy", year, int(match["a"]), int(match["b"])
            elif allow_compact and (match := _COMPACT.match(text)):
                kind[i], y[i], a[i], b[i] = "iso", int(match["y"]), int(match["m"]), int(match["d"])
                continue
            else:
                if _MONTH_WORD.search(text):
                    named.append(i)
                continue
        clock = clock_time(match["t"])
        if clock is None:
            kind[i], y[i] = "bad", np.nan
        else:
            secs[i], offset[i] = clock
    for i, stamp in _named_month_dates([texts[i] for i in named]).items():
        row = named[i]
        kind[row], y[row], a[row], b[row] = "iso", stamp.year, stamp.month, stamp.day
    frame = {"kind": kind, "y": y, "a": a, "b": b, "secs": secs, "short": short, "offset": offset}
    return pd.DataFrame(frame, index=cells.index)


def _century(year: int) -> int:
    """A two-digit year in full: 00-68 -> 2000s, 69-99 -> 1900s (the POSIX rule spreadsheets follow)."""
    return year + (2000 if year <= 68 else 1900)


def _named_month_dates(texts: list[str]) -> dict[int, pd.Timestamp]:
    """Dates written with month names ('05-Mar-2021', 'March 5, 2021'), by position in `texts`."""
    if not texts:
        return {}
    subset = pd.Series(texts, dtype=object)
    stamps = pd.Series(pd.NaT, index=subset.index, dtype="datetime64[ns]")
    for fmt in _NAMED_FORMATS:
        todo = stamps.isna()
        if not todo.any():
            break
        try:
            stamps[todo] = pd.to_datetime(subset[todo], format=fmt, errors="coerce")
        except (ValueError, OverflowError):  # pandas' own limits: those cells stay unread and are named as bad
            continue
    return {int(j): stamp for j, stamp in stamps.dropna().items()}


def date_share(cells: pd.Series, allow_compact: bool) -> float:
    """Share of non-empty cells that look like dates, to find the date column."""
    kinds = _classify_dates(cells, allow_compact)["kind"]
    filled = kinds != "empty"
    if not filled.any():
        return 0.0
    return float((kinds[filled] != "bad").mean())


def _order_conflict(
    column: str, raw: pd.Series, lines: pd.Series, dayfirst_only: pd.Series, monthfirst_only: pd.Series
) -> Issue:
    """inconsistent_dates error: some rows only read day-first, others only month-first."""
    day_wins = int(monthfirst_only.sum()) <= int(dayfirst_only.sum())
    majority, minority = (dayfirst_only, monthfirst_only) if day_wins else (monthfirst_only, dayfirst_only)
    maj_word, min_word = ("day-first", "month-first") if day_wins else ("month-first", "day-first")
    odd = Cells.pick(raw, lines, minority)
    return odd.issue(
        ERROR,
        "inconsistent_dates",
        f"Column '{column}' mixes date orders: {int(majority.sum())} rows only make sense {maj_word} "
        f"(e.g. {Cells.pick(raw, lines, majority).quoted(1)}) but {odd.where()} only make sense "
        f"{min_word} (e.g. {odd.quoted(2)}). Write all dates in one order.",
        column=column,
    )


def _ambiguous_order(column: str, raw: pd.Series, lines: pd.Series, ambiguous: pd.Series) -> Issue:
    """ambiguous_dates error: no row can tell day from month, so the user has to choose."""
    cells = Cells.pick(raw, lines, ambiguous)
    return make_issue(
        ERROR,
        "ambiguous_dates",
        f"Column '{column}': no date has a day above 12 (e.g. {cells.quoted(2)}), "
        "so day/month order cannot be told. Choose the order: pass --dayfirst or --monthfirst (CLI), "
        "or pick it in the upload form.",
        column=column,
        count=cells.count,
        examples=cells.examples,
    )


def _decide_order(info: pd.DataFrame, raw: pd.Series, lines: pd.Series, column: str) -> bool | None | Issue:
    """Day-first (True) or month-first (False) from the rows only one order can read; an error when it cannot."""
    dmy = info["kind"] == "dmy"
    a, b = info["a"], info["b"]
    dayfirst_only = dmy & (a > 12) & (b <= 12)
    monthfirst_only = dmy & (b > 12) & (a <= 12)
    n_day, n_month = int(dayfirst_only.sum()), int(monthfirst_only.sum())
    if n_day and n_month:
        return _order_conflict(column, raw, lines, dayfirst_only, monthfirst_only)
    if n_day:
        return True
    if n_month:
        return False
    ambiguous = dmy & (a <= 12) & (b <= 12)
    if ambiguous.any() and raw[dmy].str.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{2,4}(?:\s.*)?").all():
        return True  # 01.02.2024: dates written with dots are day-first wherever they are written (DIN, EU)
    if ambiguous.any():
        return _ambiguous_order(column, raw, lines, ambiguous)
    return None


def _stamps(info: pd.DataFrame, dayfirst: bool | None) -> pd.Series:
    """Timestamps from the classified parts, reading d/m/y rows in the decided order (NaT where invalid)."""
    dmy = info["kind"] == "dmy"
    months = info["a"].copy()
    days = info["b"].copy()
    if dayfirst is True:  # dd/mm/yyyy
        months[dmy], days[dmy] = info["b"][dmy], info["a"][dmy]
    years = info["y"].where(info["y"].between(1000, 2999))  # beyond: not a date a record holds, named as bad
    try:
        stamps = pd.to_datetime(pd.DataFrame({"year": years, "month": months, "day": days}), errors="coerce")
    except (ValueError, OverflowError):  # pandas' own limits: every cell is then judged by the message below
        stamps = pd.Series(pd.NaT, index=info.index, dtype="datetime64[ns]")
    return (stamps + pd.to_timedelta(info["secs"], unit="s")).astype("datetime64[ns]")


def _year_first(info: pd.DataFrame) -> pd.Series | None:
    """Dates written NN-NN-NN read year first (18-10-01 = 2018-10-01) when only that reading makes the rows a
    daily sequence: its median step between rows is a week or less, the day- or month-first readings' ten times
    that or more."""
    dmy = info["kind"] == "dmy"
    if dmy.sum() < 3 or not info["short"][dmy].all():
        return None
    a, b, year = info["a"][dmy], info["b"][dmy], info["y"][dmy]
    readings = {
        "year": (a + np.where(a <= 68, 2000, 1900), b, year % 100),
        "day": (year, b, a),
        "month": (year, a, b),
    }
    steps: dict[str, tuple[float, pd.Series]] = {}
    for name, (y, m, d) in readings.items():
        stamps = pd.to_datetime(pd.DataFrame({"year": y, "month": m, "day": d}), errors="coerce")
        if stamps.notna().all():
            gaps = np.abs(np.diff(stamps.to_numpy()).astype("timedelta64[D]").astype(float))
            steps[name] = (float(np.median(gaps)), stamps)
    if "year" not in steps:
        return None
    step = steps["year"][0]
    if step > 7 or any(other < 10 * max(step, 1.0) for name, (other, _) in steps.items() if name != "year"):
        return None
    out = pd.Series(pd.NaT, index=info.index, dtype="datetime64[ns]")
    out[dmy] = steps["year"][1].astype("datetime64[ns]")
    return out + pd.to_timedelta(info["secs"], unit="s")


def _bad_dates_issue(
    info: pd.DataFrame, raw: pd.Series, lines: pd.Series, bad: pd.Series, column: str, chosen: bool | None
) -> Issue:
    """bad_dates error: the cells that are not dates (in the chosen order, when the user chose one)."""
    how = ""
    if chosen is not None and (info["kind"] == "dmy")[bad].any():
        how = f" when read {'day-first' if chosen else 'month-first'} (as chosen)"
    empty = int((info["kind"][bad] == "empty").sum())
    empty_note = f" ({empty} of them empty)" if empty else ""
    cells = Cells.pick(raw.fillna(""), lines, bad)
    n_bad = cells.count
    return cells.issue(
        ERROR,
        "bad_dates",
        f"Column '{column}': {plural(n_bad, 'cell')} "
        f"{verb(n_bad, 'is not a valid date', 'are not valid dates')}{how}{empty_note}: "
        f"{cells.where()}, e.g. {cells.quoted()}. "
        "Fix or remove these rows.",
        column=column,
    )


def parse_dates(
    cells: pd.Series, lines: pd.Series, column: str, dayfirst: bool | None, allow_compact: bool
) -> ParsedDates:
    """Turn the date column into timestamps, deciding day/month order only from unambiguous rows."""
    info = _classify_dates(cells, allow_compact)
    raw = cells.astype("string").str.strip()
    dmy = info["kind"] == "dmy"
    yearfirst = _year_first(info) if dayfirst is None else None
    if yearfirst is not None:  # 18-10-01, 18-10-02, ...: 2018-10-01 onwards, not 18 October 2001, 2002, ...
        stamps = yearfirst.where(dmy, _stamps(info, None))
        bad = stamps.isna()
        issues = (_bad_dates_issue(info, raw, lines, bad, column, None),) if bad.any() else ()
        return ParsedDates(stamps, None, issues, bool((info["secs"] != 0).any()))
    order = dayfirst
    if dmy.any() and order is None:
        decided = _decide_order(info, raw, lines, column)
        if isinstance(decided, Issue):
            return ParsedDates(pd.Series(pd.NaT, index=cells.index, dtype="datetime64[ns]"), None, (decided,), False)
        order = decided
    stamps = _stamps(info, order)
    if info["offset"].nunique() > 1:  # the autumn clock change: 01:00-07:00 then 01:00-08:00 are two readings
        stamps = stamps - pd.to_timedelta(info["offset"], unit="ns")  # kept on their local day, in instant order
    has_time = bool((info["secs"] != 0).any())
    bad = stamps.isna()
    issues = (_bad_dates_issue(info, raw, lines, bad, column, dayfirst),) if bad.any() else ()
    return ParsedDates(stamps, order if dmy.any() else None, issues, has_time)


# --------------------------------------------------------------------------- which columns


def find_date_column(frame: pd.DataFrame, wanted: str | None, filename: str) -> str | Issue:
    """Name of the date column (named by the user, by header, or by content), else a no_date_column error."""
    names = list(frame.columns)
    listing = ", ".join(f"'{n}'" for n in names)
    if wanted is not None:
        return _named_column(names, wanted.strip()) or make_issue(
            ERROR,
            "no_date_column",
            f"There is no column '{wanted.strip()}' in {filename}. Columns are: {listing}.",
            column=wanted.strip(),
        )
    sample = frame.head(SAMPLE_ROWS)
    by_name = [(n, date_share(sample[n], True)) for n in names if is_date_name(n)]
    by_name = [(n, s) for n, s in by_name if s > 0]
    if by_name:
        best = max(by_name, key=lambda item: item[1])
        if best[1] >= 0.5:
            return best[0]
    for name in names:
        if date_share(sample[name], False) >= 0.8:
            return name
    if by_name:
        return by_name[0][0]
    return make_issue(
        ERROR,
        "no_date_column",
        f"No column of dates found in {filename} (columns: {listing}). It looks like a table without dates "
        "(e.g. a station list). A reservoir CSV needs one date column and one column per variable, "
        "e.g. 'date,level,inflow'.",
    )


def _named_column(names: list[str], wanted: str) -> str | None:
    """The column the user named: exact match first, then ignoring case."""
    for name in names:
        if name == wanted:
            return name
    for name in names:
        if name.lower() == wanted.lower():
            return name
    return None


def find_time_column(frame: pd.DataFrame, date_column: str) -> str | None:
    """A separate time-of-day column ('Date;Time;Level' loggers) to merge into the timestamps."""
    for name in frame.columns:
        if name == date_column:
            continue
        filled = [c for c in frame[name].head(SAMPLE_ROWS).tolist() if c]
        if not filled or ":" not in filled[0]:
            continue
        share = sum(1 for c in filled if _TIME.match(c)) / len(filled)
        words = set(re.split(r"[^a-z]+", name.lower()))
        if share >= 0.8 and (words & TIME_NAME_WORDS or share == 1.0):
            return name
    return None
