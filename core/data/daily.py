"""Timestamped readings to one row per day: sort, drop identical repeats, refuse conflicting ones, combine sub-daily.

Rainfall-like depths are summed over the day, states and flows averaged (core.data.variables says which is which).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.data.report import ERROR, WARNING, Issue, example_values, lines_text, make_issue, plural, quoted, verb
from core.data.variables import canonical_name, daily_aggregate

STAMP = "_stamp"  # column of the readings table holding each row's timestamp
LINE = "_line"  # ... and each row's file line


@dataclass(frozen=True, eq=False)
class DailyFrame:
    """One row per day, the file line of each day's first reading, and what had to be done to get there."""

    frame: pd.DataFrame
    first_line: pd.Series
    issues: tuple[Issue, ...]


def _sorted(table: pd.DataFrame) -> tuple[pd.DataFrame, list[Issue]]:
    """Rows in date order, with an 'unsorted' warning naming the first line that goes back in time."""
    stamps = table[STAMP]
    if stamps.is_monotonic_increasing:
        return table, []
    back = stamps.lt(stamps.cummax().shift(fill_value=stamps.iloc[0]))
    first_back = int(table[LINE][back].iloc[0]) if back.any() else None
    where = f" (line {first_back} goes back in time)" if first_back else ""
    issue = make_issue(
        WARNING, "unsorted", f"Rows are not in date order{where}; they were sorted.", rows=table[LINE][back].tolist()
    )
    return table.sort_values(STAMP, kind="stable"), [issue]


def _conflict_issue(conflicting: pd.DataFrame, conflict_stamps: pd.Index, has_time: bool) -> Issue:
    """conflicting_duplicates error: one date, several different values."""
    where = sorted(conflicting[LINE].tolist())
    fmt = "%Y-%m-%d %H:%M" if has_time else "%Y-%m-%d"
    shown = example_values(t.strftime(fmt) for t in conflict_stamps)
    n = len(conflict_stamps)
    return make_issue(
        ERROR,
        "conflicting_duplicates",
        f"{plural(n, 'date')} {verb(n, 'appears', 'appear')} "
        "more than once with different values "
        f"({lines_text(where)}; e.g. {quoted(shown)}). Keep one row per date and upload again.",
        rows=where,
        examples=shown,
    )


def _repeat_issue(dropped: pd.DataFrame) -> Issue:
    """duplicate_dates warning: rows that repeat an earlier date with the same values, dropped."""
    where = dropped[LINE].tolist()
    n = len(dropped)
    return make_issue(
        WARNING,
        "duplicate_dates",
        f"{plural(n, 'row')} {verb(n, 'repeats', 'repeat')} an earlier date with "
        f"identical values ({lines_text(where)}); "
        "the repeats were dropped.",
        rows=where,
    )


def _without_repeats(table: pd.DataFrame, columns: list[str], has_time: bool) -> tuple[pd.DataFrame, list[Issue]]:
    """Keep the first row of each timestamp; repeats with other values are an error, identical ones a warning."""
    stamps = table[STAMP]
    repeated = stamps.duplicated(keep=False)
    if not repeated.any():
        return table, []
    issues = []
    group = table[repeated]
    distinct = group.groupby(STAMP)[columns].nunique(dropna=False).max(axis=1) > 1
    conflict_stamps = distinct[distinct].index
    conflicting = group[group[STAMP].isin(conflict_stamps)]
    if len(conflicting):
        issues.append(_conflict_issue(conflicting, conflict_stamps, has_time))
    dropped = table[stamps.duplicated(keep="first") & ~stamps.isin(conflict_stamps)]
    if len(dropped):
        issues.append(_repeat_issue(dropped))
    return table[~stamps.duplicated(keep="first")], issues


def _per_day(
    table: pd.DataFrame, days: pd.Series, columns: list[str], variables: dict[str, str]
) -> tuple[pd.DataFrame, list[Issue]]:
    """One value per day: sub-daily readings averaged, or summed for depths (by the variable a column is read as,
    else by its header), with a note saying so; a summed day short of readings is left missing, and said."""
    per_day = days.value_counts()
    if not (per_day > 1).any():
        return table.set_index(days)[columns], []
    how = {c: daily_aggregate(variables.get(c) or canonical_name(c)) for c in columns}
    summed = [c for c, h in how.items() if h == "sum"]
    grouped = table.groupby(days)
    frame = grouped[columns].mean()
    issues = []
    full = int(per_day.mode().iloc[0])  # readings in a full day, as most days of the file have them
    for column in summed:
        frame[column] = grouped[column].sum(min_count=1)
        short = _short_days(grouped[column].count(), full)
        if len(short):
            frame.loc[short, column] = float("nan")
            issues.append(_short_issue(column, short, full))
    note = f"; summed for {', '.join(summed)}" if summed else ""
    issues.insert(
        0,
        make_issue(
            WARNING,
            "sub_daily",
            f"Found several readings per day (up to {int(per_day.max())}): {len(table)} readings were combined "
            f"into {len(frame)} daily values (daily mean{note}).",
            count=len(table),
        ),
    )
    return frame, issues


def _short_days(counts: pd.Series, full: int) -> pd.Index:
    """Days whose readings fall short of a full day's, beyond a clock change (one hour of readings)."""
    spare = round(full / 24)  # 23 of 24 hourly readings is the spring clock change, not a gap
    return counts.index[(counts > 0) & (counts < full - spare)]


def _short_issue(column: str, short: pd.Index, full: int) -> Issue:
    """incomplete_days warning: a summed variable's days with missing readings, left missing and named."""
    n = len(short)
    shown = example_values(d.strftime("%Y-%m-%d") for d in short)
    return make_issue(
        WARNING,
        "incomplete_days",
        f"Column '{column}' is summed per day, but {plural(n, 'day')} {verb(n, 'has', 'have')} fewer than "
        f"the {full} readings of a full day (e.g. {quoted(shown)}); {verb(n, 'it was', 'they were')} left missing, "
        "since a part-day total would read as a drier day. Add the missing readings and import the file again to "
        "fill them.",
        column=column,
        count=n,
        examples=shown,
    )


def to_daily(
    table: pd.DataFrame, columns: list[str], has_time: bool, variables: dict[str, str] | None = None
) -> DailyFrame:
    """Drop identical repeats, refuse conflicting ones, sort, and combine sub-daily readings per day.

    `table` holds the value columns plus STAMP (timestamp) and LINE (file line) columns; `variables` says what a
    column is read as (declared or by its format), which decides a sum or a mean.
    """
    table, issues = _sorted(table)
    table, more = _without_repeats(table, columns, has_time)
    issues += more
    days = table[STAMP].dt.normalize()
    first_line = table.groupby(days)[LINE].min()
    first_line.index.name = "date"
    frame, more = _per_day(table, days, columns, variables or {})
    issues += more
    frame = frame.astype("float64")
    frame.index = pd.DatetimeIndex(frame.index, name="date")
    frame.columns.name = None
    return DailyFrame(frame, first_line, tuple(issues))
