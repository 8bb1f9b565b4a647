"""Which model serves a reservoir and on how much history: what the Forecast and Overview pages and the CLI
`forecast` say next to a forecast (a cold start served by the fleet model is said so, with its days of record)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from core.display import number
from core.model.fleet import FLEET_MODEL, MODEL_LABELS, TUNED_MODEL
from core.model.zoo import ZOO
from core.store.workspace import ModelVersion, Workspace


@dataclass(frozen=True)
class Serving:
    """The version a forecast comes from, in an operator's words."""

    version: int
    model: str  # the stored model name (a zoo member, fleet, fleet_tuned)
    label: str  # how pages say it
    fleet: bool  # the fleet model or a fine-tuned copy of it
    cold_start: bool  # served by the fleet model because its own record is still too short
    history_days: int  # days with a reading of the target now

    def _history(self) -> str:
        """'N days of history', as both the sentence and the card say it."""
        return f"{number(self.history_days)} day{'s' if self.history_days != 1 else ''} of history"

    def words(self) -> str:
        """One sentence for a caption or the CLI."""
        days = self._history()
        if self.cold_start:
            return (
                f"Served by the fleet model (version {self.version}, trained on the other reservoirs) from {days}: "
                "too short a record for its own model yet; the daily cycle offers a fine-tune once it is long enough."
            )
        return f"Served by version {self.version}, {self.label}, from {days}."

    def short(self) -> str:
        """A few words for an Overview card."""
        days = self._history()
        what = "cold start" if self.cold_start else self.label
        return f"Model v{self.version} · {'fleet model, ' if self.cold_start else ''}{what} from {days}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form (`forecast --json`'s served_by)."""
        return asdict(self)


def model_label(model: str) -> str:
    """A stored model name as pages say it: a zoo member's label, the fleet's, or the name itself."""
    entry = ZOO.get(model)
    return entry.label if entry else MODEL_LABELS.get(model, model)


def serving(ws: Workspace, reservoir: str, record: ModelVersion | None = None) -> Serving | None:
    """Which version serves the reservoir (default: its active one) and its days of target readings now."""
    record = record or ws.active_version(reservoir)
    if record is None:
        return None
    readings = ws.readings(reservoir, [record.target]) if record.target else None
    days = int(readings[record.target].notna().sum()) if readings is not None and record.target in readings else 0
    return Serving(
        version=record.version,
        model=record.model,
        label=model_label(record.model),
        fleet=record.model in (FLEET_MODEL, TUNED_MODEL),
        cold_start=bool(record.meta.get("cold_start")),
        history_days=days,
    )


def served_by(ws: Workspace, reservoir: str, version: int) -> Serving | None:
    """serving() for one version by number; None when the store cannot say (a deleted row, a busy database): what
    serves a forecast is a note beside it, never a reason to withhold the forecast."""
    try:
        return serving(ws, reservoir, ws.version(reservoir, version))
    except ValueError:
        return None
