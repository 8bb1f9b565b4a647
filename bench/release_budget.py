"""How much of a week's storage error the releases can explain (python -m bench.release_budget).

Not a test: a model-free error budget on the 5 Snake River records, read through the app's CSV reader. Over
the test period (the pipeline's last 15 %), for each lead day h it compares two water-balance forecasts that
share the same inflow guess (today's inflow held for the week) and differ only in the release: held at
today's value, or the recorded releases. The MAE reduction between them is what knowing the releases is worth
when the inflow is guessed as simply as that; the release and inflow columns show the size of each part of the
error (|sum of the week's flow - h x today's|, times the fitted balance coefficient).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from bench.data import SHARED, SNAKE
from core.data.balance import balance_columns, check_balance
from core.data.ingest import read_csv

TEST_FRACTION = 0.15  # the pipeline's default split: the last 15 % of the record is the test period
LEADS = (1, 3, 7)


def _ahead(series: pd.Series, h: int) -> pd.Series:
    """The sum of the next h days' values (day t+1 .. t+h), aligned on day t."""
    return sum(series.shift(-j) for j in range(1, h + 1))


def budget(frame: pd.DataFrame, a: float, b: float, h: int) -> dict[str, float]:
    """MAEs over the test period at lead h: persistence, release-held vs recorded-release balance, each part."""
    storage, inflow, release = frame["storage"], frame["inflow"], frame["outflow"]
    test = frame.index[int(len(frame) * (1 - TEST_FRACTION)) :]
    truth = storage.shift(-h)
    held = storage + a * h * inflow - b * h * release
    told = storage + a * h * inflow - b * _ahead(release, h)
    ok = truth.loc[test].notna() & told.loc[test].notna()
    days = test[ok.to_numpy()]

    def mae(s: pd.Series) -> float:
        return float(np.mean(np.abs(s.loc[days])))

    return {
        "persistence": mae(truth - storage),
        "held": mae(truth - held),
        "told": mae(truth - told),
        "release_part": mae(b * (_ahead(release, h) - h * release)),
        "inflow_part": mae(a * (_ahead(inflow, h) - h * inflow)),
    }


def main() -> None:
    """Print the table."""
    argparse.ArgumentParser(description=__doc__).parse_args()
    print(
        "| reservoir | balance R² | lead | persistence MAE | release part | inflow part | balance, release held "
        "| balance, recorded release | reduction |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in SNAKE:
        parsed = read_csv(SHARED / "snake_river" / f"{name}.csv")
        frame = parsed.frame.asfreq("D")
        fit = check_balance(frame, parsed.units).fit
        frame = frame.rename(columns={column: role for role, column in balance_columns(frame.columns).items()})
        for h in LEADS:
            r = budget(frame, fit.a, fit.b, h)
            print(
                f"| {name} | {fit.r2:.2f} | {h} | {r['persistence']:.3g} | {r['release_part']:.3g} "
                f"| {r['inflow_part']:.3g} | {r['held']:.3g} | {r['told']:.3g} | {1 - r['told'] / r['held']:+.1%} |"
            )


if __name__ == "__main__":
    main()
