"""Time and peak memory of reading agency files at their largest (python -m bench.agency_formats).

Not a test: it writes, in each format's published layout, a USGS NWIS daily-values RDB file (one site, 60 years,
storage / elevation / discharge with qualification codes), a CDEC CSV export (10 stations x 5 sensors x 30 years of
daily rows, long format), an Excel workbook (20,000 daily rows, 5 columns) and a 11,500-row elevation-area-capacity
table (0.1 ft steps, a zero run below the dead pool and rounded flat steps), then measures each step in a fresh
interpreter (bench.ingest_memory.measure), so each step's peak resident memory is its own. It also times `inspect` of
a 28-row file at 500 columns (the widest file read; wider ones are refused before their cells are read) and at
8,000 columns (refused). Wall time depends on the machine's load: the CPU column does not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.ingest_memory import measure

RDB_HEADER = """# US Geological Survey (format as published: https://help.waterdata.usgs.gov/faq/about-tab-delimited-output)
#
# Data for the following 1 site(s) are contained in this file
#    USGS 08999900 EXAMPLE LAKE NR SAMPLETOWN, TX
#
# Data provided for site 08999900
#            TS   parameter     statistic     Description
#        160474       00054     00003     Reservoir storage, acre feet (Mean)
#        160475       62614     00003     Lake or reservoir water surface elevation above NGVD 1929, feet (Mean)
#        160476       00060     00003     Discharge, cubic feet per second (Mean)
#
agency_cd\tsite_no\tdatetime\t160474_00054_00003\t160474_00054_00003_cd\t160475_62614_00003\t160475_62614_00003_cd\t160476_00060_00003\t160476_00060_00003_cd
5s\t15s\t20d\t14n\t10s\t14n\t10s\t14n\t10s
"""


def write_rdb(path: Path, years: int = 60) -> Path:
    """One site's daily values with approved, provisional, estimated and equipment-code rows."""
    rng = np.random.default_rng(1)
    days = np.arange(np.datetime64("1965-01-01"), np.datetime64("1965-01-01") + 365 * years)
    n = len(days)
    storage = (1.7e6 + 2e5 * np.sin(np.arange(n) / 58.0) + rng.normal(0, 800, n)).round()
    level = (131 + 3 * np.sin(np.arange(n) / 58.0)).round(2)
    flow = np.abs(3000 + 1500 * np.sin(np.arange(n) / 20.0) + rng.normal(0, 90, n)).round()
    code = np.where(np.arange(n) >= n - 120, "P", "A")
    code = np.where(rng.random(n) < 0.01, np.char.add(code, ":e"), code)
    with path.open("w") as out:
        out.write(RDB_HEADER)
        for i, day in enumerate(days.astype(str)):
            elev = ("", "Eqp") if i % 997 == 5 else (f"{level[i]:.2f}", code[i])
            out.write(
                f"USGS\t08999900\t{day}\t{storage[i]:.0f}\t{code[i]}\t{elev[0]}\t{elev[1]}\t{flow[i]:.0f}\t{code[i]}\n"
            )
    return path


def write_cdec(path: Path, stations: int = 10, years: int = 30) -> Path:
    """CDEC's long format: one row per station, sensor and day, '---' for missing."""
    sensors = (
        (15, "STORAGE", "AF"),
        (6, "RES ELE", "FEET"),
        (76, "INFLOW", "CFS"),
        (23, "OUTFLOW", "CFS"),
        (45, "PPT INC", "INCHES"),
    )
    days = [dt.date(1994, 1, 1) + dt.timedelta(days=i) for i in range(365 * years)]
    stamps = [d.strftime("%Y%m%d") + " 0000" for d in days]
    rng = np.random.default_rng(2)
    with path.open("w") as out:
        out.write("STATION_ID,DURATION,SENSOR_NUMBER,SENSOR_TYPE,DATE TIME,OBS DATE,VALUE,DATA_FLAG,UNITS\n")
        for s in range(stations):
            station = f"S{s:02d}"
            for number, kind, unit in sensors:
                values = np.abs(rng.normal(1000 * (s + 1), 50, len(days))).round(1)
                for stamp, value in zip(stamps, values, strict=True):
                    shown = "---" if value < 1000 * (s + 1) - 140 else f"{value:g}"
                    out.write(f"{station},D,{number},{kind},{stamp},{stamp},{shown}, ,{unit}\n")
    return path


def write_workbook(path: Path, rows: int = 20_000) -> Path:
    """An operator's workbook: a title row, a header, dates as Excel dates, five numeric columns."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Daily")
    sheet.append(["Daily record"])
    sheet.append(["Date", "Level (m)", "Storage (hm3)", "Inflow (m3/s)", "Outflow (m3/s)", "Rain (mm)"])
    start = dt.datetime(1970, 1, 1)
    for i in range(rows):
        sheet.append([start + dt.timedelta(days=i), 100 + (i % 365) / 100, 50 + (i % 365) / 10, 5.5, 4.5, 0.0])
    book.save(path)
    return path


def write_curve(path: Path, rows: int = 11_500) -> Path:
    """A TWDB-style elevation-area-capacity table, 0.1 ft a row."""
    elevation = 2800 + 0.1 * np.arange(rows)
    capacity = np.round(np.maximum(0, elevation - 2810) ** 2 * 12.0, -2)
    area = np.round(np.maximum(0, elevation - 2810) * 24.0, 1)
    with path.open("w") as out:
        out.write("08999900 Elevation (ft),08999900 Area (acres),08999900 Capacity (acre-ft)\n")
        for e, a, c in zip(elevation, area, capacity, strict=True):
            out.write(f"{e:.1f},{a:g},{c:g}\n")
    return path


def write_wide(path: Path, columns: int, rows: int = 28) -> Path:
    """A wide file: one column per reservoir."""
    rng = np.random.default_rng(3)
    with path.open("w") as out:
        out.write("date," + ",".join(f"res_{i}" for i in range(columns)) + "\n")
        for d in range(rows):
            out.write(f"2024-01-{d + 1:02d}," + ",".join(f"{v:.2f}" for v in 1000 + rng.normal(0, 5, columns)) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    """Write each file, measure its steps, print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    print(f"{'file':34s} {'size':>8s}  {'step':15s} {'wall s':>7s} {'CPU s':>7s} {'peak MB':>8s}  detail")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = [
            (write_rdb(folder / "usgs_60_years.rdb"), ("inspect", "import")),
            (write_cdec(folder / "cdec_10_stations.csv"), ("inspect", "import-stations")),
            (write_workbook(folder / "record_20000_rows.xlsx"), ("inspect", "import")),
            (write_curve(folder / "twdb_11500_rows.csv"), ("curve",)),
            (write_wide(folder / "wide_500_columns.csv", 500), ("inspect",)),
            (write_wide(folder / "wide_8000_columns.csv", 8000), ("inspect",)),
        ]
        for path, steps in cases:
            size = f"{path.stat().st_size / 1e6:.1f} MB"
            for step in steps:
                r = measure(step, path)
                detail = {k: v for k, v in r.items() if k not in ("step", "seconds", "cpu_s", "peak_mb")}
                print(
                    f"{path.name:34s} {size:>8s}  {step:15s} {r['seconds']:7.2f} {r['cpu_s']:7.2f} "
                    f"{r['peak_mb']:8.1f}  {detail}"
                )
    print(f"load average while measuring: {' / '.join(f'{v:.1f}' for v in os.getloadavg())} (1 / 5 / 15 min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
