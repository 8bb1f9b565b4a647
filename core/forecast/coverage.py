"""Recent coverage: how often the bands the app issued held what then happened, so engineers can see them hold up."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.forecast.issue import version_forecasts
from core.model.uncertainty import BANDS
from core.registry import LoadedModel

RECENT_DAYS = 90


@dataclass(frozen=True)
class BandCoverage:
    """One band's record: the share of known outcomes inside it, against the share it promises."""

    band: int
    nominal: float  # 0..1
    share: float  # 0..1, NaN without outcomes
    inside: int
    outcomes: int


@dataclass(frozen=True)
class RecentCoverage:
    """The issued bands' record over the outcomes observed from `start` to `end` (the issue day)."""

    start: str
    end: str
    days: int
    outcomes: int  # known (issue day, lead day) pairs counted, the same for every band
    bands: tuple[BandCoverage, ...]

    def to_dict(self) -> dict[str, object]:
        """JSON form for the CLI."""
        bands = {str(b.band): {"nominal": b.nominal, "share": b.share, "inside": b.inside} for b in self.bands}
        return {**{k: getattr(self, k) for k in ("start", "end", "days", "outcomes")}, "bands": bands}


def recent_coverage(
    loaded: LoadedModel, values: pd.DataFrame, day: pd.Timestamp, days: int = RECENT_DAYS
) -> RecentCoverage | None:
    """Share of the outcomes observed in the `days` up to `day` that fell inside the band issued for them.

    Each forecast's band is the one issued on its own issue day (adaptive: calibrated on the truths known
    then, as `issue` does); readings after `day` are cut off, so nothing later than `day` is read.
    None for versions saved without bands.
    """
    calib = loaded.calibration
    if calib is None:
        return None
    cfg = loaded.config
    day = pd.Timestamp(day).normalize()
    first = day - pd.Timedelta(days=days - 1)  # first truth day counted
    window = calib.adaptive.window_days if calib.adaptive else 0
    since = first - pd.Timedelta(days=cfg.horizon + window + cfg.horizon)
    forecasts = version_forecasts(loaded, values.loc[:day], since, day - pd.Timedelta(days=1))
    history = forecasts.residuals(calib)
    truth_days = history.truth_days()
    counted = (truth_days >= np.datetime64(first.date(), "D")) & np.isfinite(forecasts.truth)
    inside = {b: 0 for b in BANDS}
    for i in np.flatnonzero(counted.any(axis=1)):
        bands = calib.at(history, forecasts.issued[i]).bands(forecasts.forecast[i : i + 1], forecasts.change[i : i + 1])
        for b, (lower, upper) in bands.items():
            truth, keep = forecasts.truth[i], counted[i]
            inside[b] += int(((truth >= lower[0]) & (truth <= upper[0]) & keep).sum())
    n = int(counted.sum())
    return RecentCoverage(
        start=first.date().isoformat(),
        end=day.date().isoformat(),
        days=days,
        outcomes=n,
        bands=tuple(BandCoverage(b, b / 100, inside[b] / n if n else float("nan"), inside[b], n) for b in BANDS),
    )
