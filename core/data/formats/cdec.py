"""CDEC's CSV export (California Data Exchange Center, the CSVDataServlet download), read as it is published.

Long format: one row per station, sensor and time under the header
`STATION_ID,DURATION,SENSOR_NUMBER,SENSOR_TYPE,DATE TIME,OBS DATE,VALUE,DATA_FLAG,UNITS`; times are written
`20220215 0000`, a missing value is `---`, DURATION is D (daily), H (hourly), E (event) or M (monthly), and
DATA_FLAG is blank or a one-letter flag. Each (station, sensor, duration) series becomes its own block (its own
calendar, the file lines of its own rows); several stations in one file become several reservoirs, named by the
station id (renameable before import).

Sensor types the app maps are in SENSORS. RAIN (sensor 2) is precipitation *accumulated* since the water year
began, not a day's depth, so it is listed and left out (PPT INC, sensor 45, is the daily depth); monthly series
cannot feed a daily record and are left out too. Anything else is listed, not guessed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.formats import NOT_MAPPED, Block, SourceColumn, SourceFile
from core.data.reading import CellFrame, read_cells
from core.data.report import WARNING, Issue, make_issue, plural, runs_text
from core.data.screen import date_runs
from core.data.units import normalize_unit

FORMAT = "CDEC CSV"
HEADER = (
    "STATION_ID",
    "DURATION",
    "SENSOR_NUMBER",
    "SENSOR_TYPE",
    "DATE TIME",
    "OBS DATE",
    "VALUE",
    "DATA_FLAG",
    "UNITS",
)
# sensor type -> (variable, what it is)
SENSORS: dict[str, tuple[str, str]] = {
    "STORAGE": ("storage", "reservoir storage"),
    "RES ELE": ("level", "reservoir elevation"),
    "INFLOW": ("inflow", "reservoir inflow"),
    "OUTFLOW": ("outflow", "reservoir outflow"),
    "PPT INC": ("rainfall", "precipitation, incremental"),
}
LEFT_OUT = {
    "RAIN": "CDEC's RAIN is precipitation accumulated since the water year began, not a day's depth; download "
    "PPT INC (sensor 45) for daily rainfall",
}
DURATIONS = {"D": "daily", "H": "hourly", "E": "event", "M": "monthly"}
PREFERRED = ("D", "H", "E")  # when a station has one sensor in several durations, the first of these is taken
DATE = "DATE TIME"


def detect(text: str) -> bool:
    """True for a CDEC CSV: its first line is CDEC's header (any case, spaces around commas allowed)."""
    first = next((ln for ln in text[:20_000].splitlines() if ln.strip()), "")
    names = tuple(c.strip().strip('"').upper() for c in first.lstrip("\ufeff").split(","))
    return {"STATION_ID", "SENSOR_TYPE", "DATE TIME", "VALUE"} <= set(names)


def _stamps(text: pd.Series) -> pd.Series:
    """'20220215 0000' -> '2022-02-15 00:00' (other forms are left for the date reader to judge)."""
    compact = text.str.fullmatch(r"\d{8} \d{4}")
    iso = text.str.slice(0, 4) + "-" + text.str.slice(4, 6) + "-" + text.str.slice(6, 8)
    iso = iso + " " + text.str.slice(9, 11) + ":" + text.str.slice(11, 13)
    return iso.where(compact, text)


def read(text: str, name: str) -> SourceFile | str:
    """A CDEC file as one block per series, each mapped by its sensor type, its flags reported."""
    parsed = read_cells(text)  # a long export of many years takes the fast path (Arrow-backed text columns)
    del text
    if isinstance(parsed, str):
        return f"{name}: {parsed}"
    cells = parsed.cells.rename(columns=lambda c: str(c).strip().upper())
    missing = [h for h in ("STATION_ID", "SENSOR_TYPE", "DATE TIME", "VALUE") if h not in cells.columns]
    if missing:
        return f"{name} looks like a CDEC export but has no column {', '.join(missing)}."
    for optional in HEADER:
        if optional not in cells.columns:
            cells[optional] = ""
    cells[DATE] = _stamps(cells["DATE TIME"].where(cells["DATE TIME"] != "", cells["OBS DATE"]))
    reader = _Reader(parsed.lines)
    reader.issues += parsed.issues  # rows that are not readings (a repeated header: two downloads appended)
    keys = ["STATION_ID", "SENSOR_NUMBER", "SENSOR_TYPE", "DURATION"]
    groups = list(cells.groupby(keys, sort=False))
    chosen = _chosen([key for key, _ in groups])
    for key, rows in groups:
        reader.series(tuple(str(k) for k in key), rows, chosen)
    stations = {c.station: "" for c in reader.columns if c.station}
    return SourceFile(
        FORMAT, tuple(reader.blocks), tuple(reader.columns), (FORMAT, *reader.read_as), tuple(reader.issues), stations
    )


def _chosen(keys: list[tuple]) -> set[tuple]:
    """The series taken per (station, sensor type): the daily one when a sensor comes in several durations."""
    best: dict[tuple[str, str], tuple[int, tuple]] = {}
    for key in keys:
        station, _, sensor, duration = (str(k) for k in key)
        rank = PREFERRED.index(duration) if duration in PREFERRED else len(PREFERRED)
        current = best.get((station, sensor))
        if current is None or rank < current[0]:
            best[(station, sensor)] = (rank, key)
    return {key for _, key in best.values()}


class _Reader:
    """Collects one block and one column per series, and the flags found."""

    def __init__(self, lines: pd.Series):
        self.lines = lines
        self.blocks: list[Block] = []
        self.columns: list[SourceColumn] = []
        self.issues: list[Issue] = []
        self.read_as: list[str] = []
        self._durations: dict[tuple[str, str], int] = {}

    def series(self, key: tuple[str, str, str, str], rows: pd.DataFrame, chosen: set[tuple]) -> None:
        """One (station, sensor, duration) series: a block of its own, mapped or listed."""
        station, number, sensor, duration = key
        sensor_type = sensor.upper()
        units = rows["UNITS"][rows["UNITS"] != ""]
        unit = normalize_unit(units.mode().iloc[0]) if len(units) else None
        label = f"{station} {sensor_type}" + (f" ({DURATIONS.get(duration, duration)})" if duration != "D" else "")
        variable, note = self._mapping(station, number, sensor_type, duration, unit, key in chosen)
        self.columns.append(SourceColumn(label, station, variable, unit, note))
        lines = self.lines.loc[rows.index].reset_index(drop=True)
        block = pd.DataFrame({DATE: rows[DATE].to_numpy(), label: rows["VALUE"].to_numpy()})
        self.blocks.append(Block(CellFrame(block, lines, ()), DATE, station))
        if variable != NOT_MAPPED:
            flags = rows["DATA_FLAG"].str.strip().to_numpy()
            self._flags(label, flags, pd.to_datetime(block[DATE], errors="coerce", format="ISO8601"), lines)

    def _mapping(
        self, station: str, number: str, sensor_type: str, duration: str, unit: str | None, chosen: bool
    ) -> tuple[str, str]:
        """(variable, note) for one series; NOT_MAPPED with the reason when it is left out."""
        what = f"CDEC sensor {number} {sensor_type} ({DURATIONS.get(duration, duration)}, {unit or 'no unit'})"
        if duration == "M":
            return NOT_MAPPED, f"{what}: monthly values cannot make a daily record; left out"
        if sensor_type in LEFT_OUT:
            return NOT_MAPPED, f"{what}: {LEFT_OUT[sensor_type]}; left out"
        if sensor_type not in SENSORS:
            return NOT_MAPPED, f"{what}: not a reservoir variable the app reads; left out"
        if not chosen:
            return NOT_MAPPED, f"{what}: the station's daily series of this sensor is used; left out"
        variable, words = SENSORS[sensor_type]
        self.read_as.append(f"station {station} sensor {number} {sensor_type} -> {variable} {unit or ''}".rstrip())
        return variable, f"CDEC sensor {number} {sensor_type}, {words} ({unit or 'no unit'})"

    def _flags(self, column: str, flags: np.ndarray, stamps: pd.Series, lines: pd.Series) -> None:
        """A warning per CDEC data flag found in a series, with its days: the values are kept as given."""
        for flag in sorted(set(flags) - {""}):
            hit = flags == flag
            mask = pd.Series(hit, index=stamps.dt.normalize().to_numpy())
            mask = mask[~mask.index.isna()].groupby(level=0).any()
            runs = date_runs(mask)
            n = int(hit.sum())
            self.issues.append(
                make_issue(
                    WARNING,
                    "agency_flag",
                    f"{plural(n, 'value')} of '{column}' carry CDEC data flag '{flag}' ({runs_text(runs)}); they are "
                    "kept as given: check CDEC's description of the flag before relying on them.",
                    column=column,
                    rows=lines[hit].tolist(),
                    runs=runs,
                )
            )
