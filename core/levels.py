"""Operating levels (flood and drought lines) that an operator sets per reservoir."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SIDES = ("flood", "drought")  # flood: alert when above; drought: alert when below
SEVERITIES = ("watch", "warning", "danger")


class LevelError(ValueError):
    """An operating level the operator entered cannot be used; the message says why."""


@dataclass(frozen=True)
class OperatingLevel:
    """One threshold line: crossing it on its side raises an alert of its severity."""

    name: str
    value: float
    unit: str | None
    side: str
    severity: str
    variable: str = "level"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as stored in the workspace."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OperatingLevel:
        """Rebuild a level from its stored JSON, checking it on the way in."""
        level = cls(
            name=str(data["name"]),
            value=float(data["value"]),
            unit=data.get("unit"),
            side=str(data["side"]),
            severity=str(data["severity"]),
            variable=str(data.get("variable", "level")),
        )
        check_level(level)
        return level


def check_level(level: OperatingLevel) -> None:
    """Reject a level with an unknown side/severity, empty name or non-finite value."""
    if not level.name.strip():
        raise LevelError("An operating level needs a name, e.g. 'Flood warning'.")
    if level.side not in SIDES:
        raise LevelError(f"Level '{level.name}': side must be one of {', '.join(SIDES)}, not '{level.side}'.")
    if level.severity not in SEVERITIES:
        raise LevelError(
            f"Level '{level.name}': severity must be one of {', '.join(SEVERITIES)}, not '{level.severity}'."
        )
    if level.value != level.value or level.value in (float("inf"), float("-inf")):
        raise LevelError(f"Level '{level.name}': value must be a finite number.")
