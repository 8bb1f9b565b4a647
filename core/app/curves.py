"""A reservoir's storage-elevation curve as a user action: import (checked against the records), read, remove.

The curve is stored in the reservoir's metadata (key 'curve'), in the units the reservoir stores its level and
storage in, so every conversion afterwards is a plain numpy.interp.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.app.screening import clean_record
from core.data.curves import (
    ELEVATION,
    STORAGE,
    Curve,
    CurveError,
    CurveOptions,
    Recorded,
    coverage_problems,
    in_units,
    read_curve,
)
from core.store.workspace import Workspace

CURVE_KEY = "curve"


@dataclass(frozen=True)
class CurveOutcome:
    """What a curve import did: the stored curve and the coverage gaps the operator accepted (if any)."""

    reservoir: str
    curve: Curve
    uncovered: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """JSON form for `curve --json`."""
        lo_e, hi_e = self.curve.span(ELEVATION)
        lo_s, hi_s = self.curve.span(STORAGE)
        return {
            "reservoir": self.reservoir,
            "stored": True,
            "rows": len(self.curve.elevation),
            "level": {"from": lo_e, "to": hi_e, "unit": self.curve.elevation_unit},
            "storage": {"from": lo_s, "to": hi_s, "unit": self.curve.storage_unit},
            "notes": list(self.curve.notes),
            "uncovered": list(self.uncovered),
            "curve": self.curve.to_dict(),
        }


def recorded_spans(ws: Workspace, reservoir: str) -> list[Recorded]:
    """Lowest and highest level and storage of the cleaned record (logger codes and impossible values masked,
    mis-dated days left out), with their days, for the coverage check."""
    info = ws.reservoir(reservoir)
    out = []
    for variable in (ELEVATION, STORAGE):
        if variable not in info.variable_names:
            continue
        values = clean_record(ws, info.name, [variable]).values[variable].dropna()
        if values.empty:
            continue
        out.append(
            Recorded(
                variable,
                float(values.min()),
                float(values.max()),
                values.idxmin().date().isoformat(),
                values.idxmax().date().isoformat(),
                info.variable(variable).unit,
            )
        )
    return out


def import_curve(
    ws: Workspace,
    reservoir: str,
    source: str | Path | bytes,
    *,
    filename: str | None = None,
    options: CurveOptions | None = None,
    partial: bool = False,
) -> CurveOutcome:
    """Read, check and store a curve; refused (CurveError) when it does not cover the records unless `partial`."""
    name = ws.reservoir(reservoir).name
    if isinstance(source, (bytes, bytearray)):
        data, shown = bytes(source), filename or "curve.csv"
    else:
        path = Path(source)
        data, shown = path.read_bytes(), filename or path.name
    curve = read_curve(data, shown, options or CurveOptions())
    info = ws.reservoir(name)
    units = {v.name: v.unit for v in info.variables if v.name in (ELEVATION, STORAGE)}
    curve = in_units(curve, units)
    problems = coverage_problems(curve, recorded_spans(ws, name))
    if problems and not partial:
        raise CurveError(" ".join(problems) + " (CLI: add --partial; Data page: tick 'Store it anyway'.)")
    ws.set_meta(name, CURVE_KEY, curve.to_dict())
    return CurveOutcome(name, curve, tuple(problems))


def stored_curve(ws: Workspace, reservoir: str) -> Curve | None:
    """The reservoir's curve, or None when none was imported (or the stored one no longer reads)."""
    data = ws.get_meta(reservoir, CURVE_KEY)
    if not data:
        return None
    try:
        return Curve.from_dict(data)
    except (CurveError, KeyError, TypeError, ValueError):
        return None


def remove_curve(ws: Workspace, reservoir: str) -> None:
    """Forget the reservoir's curve (forecasts go back to their own variable only)."""
    ws.set_meta(ws.reservoir(reservoir).name, CURVE_KEY, None)
