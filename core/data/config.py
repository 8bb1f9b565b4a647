"""How raw readings become training data: the cleaning settings, light enough for the CLI's --help."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from numbers import Integral
from typing import Any

# What cleaning does with values outside a variable's physical range, as the operator decides per variable.
MASK, KEEP, RELATIVE = "mask", "keep", "relative"
OUT_OF_RANGE_DECISIONS: dict[str, str] = {
    MASK: "mask them (treated as missing, short gaps interpolated)",
    KEEP: "keep them as they are (flagged, used for training)",
    RELATIVE: "the variable is relative (e.g. storage from a pool bottom): no lower limit",
}


class CleanError(ValueError):
    """The raw frame or the cleaning settings cannot be used; the message says why."""


@dataclass(frozen=True)
class CleanConfig:
    """How raw readings become training data; stored with each model so results can be reproduced."""

    max_gap_days: int = 3  # gaps up to this many days are linearly interpolated; longer gaps stay NaN
    mask_spikes: bool = True
    mask_impossible: bool = True
    denoise_window: int = 0  # 0 = off; else odd window of a centred rolling median applied after masking

    def __post_init__(self) -> None:
        """Reject settings that would silently do something else than asked."""
        if isinstance(self.max_gap_days, bool) or not isinstance(self.max_gap_days, Integral) or self.max_gap_days < 0:
            raise CleanError(f"max_gap_days must be a whole number of days >= 0, not {self.max_gap_days!r}.")
        window = self.denoise_window
        if (
            isinstance(window, bool)
            or not isinstance(window, Integral)
            or window < 0
            or (window and (window < 3 or window % 2 == 0))
        ):
            raise CleanError(f"denoise_window must be 0 (off) or an odd number >= 3, not {window!r}.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, saved beside each trained model."""
        data = asdict(self)
        data["max_gap_days"] = int(self.max_gap_days)
        data["denoise_window"] = int(self.denoise_window)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CleanConfig:
        """Rebuild from stored JSON; unknown keys are an error so typos don't pass silently."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise CleanError(f"Unknown cleaning setting(s): {', '.join(unknown)}. Known: {', '.join(sorted(known))}.")
        return cls(**data)
