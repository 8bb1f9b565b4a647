"""The water-balance check on the 5 Snake River reservoirs (python -m bench.balance): which records close it.

Not a test: prints one table (markdown) of the fit, the closure score and what was flagged per reservoir, read
through the app's own CSV reader (what `python -m core inspect FILE` checks).
"""

from __future__ import annotations

import argparse
import time

from bench.data import SHARED, SNAKE
from core.data.balance import BalanceCheck, amount, check_balance
from core.data.ingest import read_csv


def _row(name: str, check: BalanceCheck, seconds: float) -> str:
    """One markdown row: fit, closure score, findings, the largest drift, verdict."""
    fit = check.fit
    if fit is None:
        return f"| {name} | - | - | - | - | - | - | - | {check.reason} |"
    largest = max(check.drifts, key=lambda f: abs(f.size), default=None)
    drift = f"{amount(largest.size, check.unit)} {largest.first}..{largest.last}" if largest else "-"
    return (
        f"| {name} | {fit.days} | {fit.r2:.2f} | {fit.a:.3f} / {fit.b:.3f} | {check.within_share:.1%} "
        f"| {len(check.days)} | {len(check.drifts)} | {drift} | {check.verdict.removeprefix('close the balance ')} "
        f"| {seconds * 1000:.0f} |"
    )


def main() -> None:
    """Print the table."""
    argparse.ArgumentParser(description=__doc__).parse_args()
    print(
        "| reservoir | days | R^2 | a (inflow) / b (release) | days within tolerance | spike runs | drift periods "
        "| largest drift | closes | ms |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |")
    for name in SNAKE:
        parsed = read_csv(SHARED / "snake_river" / f"{name}.csv")
        t0 = time.perf_counter()
        check = check_balance(parsed.frame, parsed.units)
        print(_row(name, check, time.perf_counter() - t0))


if __name__ == "__main__":
    main()
