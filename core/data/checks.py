"""Warnings about an imported daily frame: calendar gaps, QC findings (codes, out-of-range, spikes, flat lines), short
records.

They use the same detectors as cleaning (core.data.screen, core.data.qc), so what the import warns about is exactly
what cleaning masks.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from core.data import qc
from core.data.findings import screen_issues
from core.data.report import WARNING, Cells, Issue, make_issue, plural, verb
from core.data.screen import screen_frame

MIN_TRAIN_DAYS = 60  # fewer days than this: importable, but too short to train a forecast


def gap_issue(index: pd.DatetimeIndex) -> Issue | None:
    """missing_days warning: how many days are absent, in how many gaps, and the longest one."""
    if len(index) < 2:
        return None
    steps = np.diff(index.values).astype("timedelta64[D]").astype(int)
    gaps = steps[steps > 1] - 1
    if not len(gaps):
        return None
    longest = int(np.argmax(steps))
    first = (index[longest] + pd.Timedelta(days=1)).date().isoformat()
    last = (index[longest + 1] - pd.Timedelta(days=1)).date().isoformat()
    total = int(gaps.sum())
    return make_issue(
        WARNING,
        "missing_days",
        f"{total} days are missing from the calendar in {len(gaps)} gap(s); the longest is {int(gaps.max())} days "
        f"({first} to {last}). Short gaps are interpolated when cleaning; long gaps are left out of training.",
        count=total,
    )


def _spike_issue(name: str, values: pd.Series, first_line: pd.Series, variable: str | None = None) -> Issue | None:
    """spike warning: readings that jump away and straight back, with their dates."""
    spikes = qc.find_spikes(values, variable=variable or name)
    if not spikes.any():
        return None
    cells = Cells.pick(values, first_line, spikes)
    dates = ", ".join(d.date().isoformat() for d in values.index[spikes][:5])
    return cells.issue(
        WARNING,
        "spike",
        f"Column '{name}': {plural(cells.count, 'value')} {verb(cells.count, 'jumps', 'jump')} away and "
        f"straight back ({cells.where()}; {dates}), which looks like a data error; cleaning masks and "
        "interpolates them.",
        column=name,
    )


def _flatline_issue(name: str, values: pd.Series, first_line: pd.Series, variable: str | None = None) -> Issue | None:
    """flatline warning: runs of one unchanging value, naming the longest run's dates."""
    flat = qc.find_flatlines(values)
    if not flat.any():
        return None
    position = np.flatnonzero(flat.to_numpy())
    level = values.to_numpy()[position]
    run_id = np.cumsum(np.r_[True, (np.diff(position) > 1) | (level[1:] != level[:-1])])
    longest = np.flatnonzero(run_id == np.bincount(run_id).argmax())
    start, end = values.index[position[longest[0]]], values.index[position[longest[-1]]]
    span = f"{start.date().isoformat()} to {end.date().isoformat()}"
    n_runs = int(run_id.max())
    if n_runs == 1:
        what = f"{len(longest)} readings in a row hold the same value ({span})"
    else:
        what = (
            f"{n_runs} stretches of 14 or more readings hold one unchanging value ({int(flat.sum())} "
            f"readings; the longest is {len(longest)}, {span})"
        )
    return Cells.pick(values, first_line, flat).issue(
        WARNING,
        "flatline",
        f"Column '{name}': {what}. A frozen sensor does this; check them. They are kept.",
        column=name,
    )


def qc_issues(
    frame: pd.DataFrame,
    first_line: pd.Series,
    variables: Mapping[str, str] | None = None,
    known_codes: pd.DataFrame | None = None,
    units: Mapping[str, str | None] | None = None,
) -> list[Issue]:
    """Screening findings (codes, absurd values, companions, out-of-range runs), then spike / flatline warnings
    per column, judged as the variable declared for it (else its header) in its declared unit.

    Spikes and flat lines are looked for after the screened cells are masked, as cleaning does.
    """
    screen = screen_frame(frame, variables, known_codes=known_codes, units=units)
    issues: list[Issue] = screen_issues(frame, first_line, screen, variables)
    screened = frame.mask(screen.codes | screen.absurd | screen.companions | screen.out_of_range)
    for name in frame.columns:
        for check in (_spike_issue, _flatline_issue):
            issue = check(name, screened[name], first_line, (variables or {}).get(name))
            if issue is not None:
                issues.append(issue)
    return issues


def few_days_issue(n_days: int) -> Issue | None:
    """few_rows warning: importable, but too short a record to train a forecast on."""
    if n_days >= MIN_TRAIN_DAYS:
        return None
    return make_issue(
        WARNING,
        "few_rows",
        f"Only {n_days} days of data: it can be imported, but at least {MIN_TRAIN_DAYS} days "
        "are needed to train a forecast.",
        count=n_days,
    )


def frame_warnings(
    daily: pd.DataFrame,
    first_line: pd.Series,
    variables: Mapping[str, str] | None = None,
    known_codes: pd.DataFrame | None = None,
    units: Mapping[str, str | None] | None = None,
) -> list[Issue]:
    """Every warning about an imported daily frame, in the order the report lists them (`variables`: declared;
    `known_codes`: days a column held a fixed no-data code, read as missing, whose companions are suspect;
    `units`: each column's declared or guessed unit)."""
    found = [
        gap_issue(daily.index),
        *qc_issues(daily, first_line, variables, known_codes, units),
        few_days_issue(len(daily)),
    ]
    return [issue for issue in found if issue is not None]


def record_warnings(index: pd.DatetimeIndex) -> list[Issue]:
    """The warnings about a record's calendar alone (gaps, too few days), for one station of a multi-station file."""
    return [issue for issue in (gap_issue(index), few_days_issue(len(index))) if issue is not None]
