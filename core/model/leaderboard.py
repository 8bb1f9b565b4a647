"""The leaderboard's rules: which members take part, how they are ranked, and the verdict in words.

Pure functions over leaderboard rows; training the members and storing them is core.app.compare.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from core.model.zoo import MODEL_NAMES, check_name


def parse_models(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """The requested members in zoo order (None/empty = the whole zoo); unknown names are an error."""
    if not text:
        return MODEL_NAMES
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    for name in names:
        check_name(name)
    return tuple(n for n in MODEL_NAMES if n in set(names))


def rank(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows best first by validation MAE (the test period never takes part), each given its rank."""
    rows = sorted(rows, key=lambda r: (not np.isfinite(r["val_mae"]), r["val_mae"]))
    for position, row in enumerate(rows, 1):
        row["rank"] = position
    return rows


def verdict(rows: list[dict[str, Any]], unit: str | None = None) -> str:
    """The leaderboard in one sentence an operator can act on (no model beating persistence is said plainly)."""
    best = rows[0]
    learned = [r for r in rows if r["model"] != "persistence"]
    beats = [r for r in learned if (r["val_skill"] or 0) > 0]
    if not beats:
        return (
            "No model beats persistence ('tomorrow = today') on the validation period: the level here is driven "
            "by something the readings do not show (operating decisions, gate changes). Use persistence with its "
            "bands, and treat any model's forecast as no better than today's reading."
        )
    unit_text = f" {unit}" if unit else ""
    return (
        f"{best['label']} is best on the validation period (MAE {best['val_mae']:.4g}{unit_text}, "
        f"skill {best['val_skill']:+.2f} vs persistence); on the held-out test period its skill is "
        f"{best['metrics']['skill_vs_persistence']:+.2f}."
    )
