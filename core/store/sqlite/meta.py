"""Per-reservoir settings in SQLite: small JSON metadata values (capacity, alert trigger) and the operating levels."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from core.data.levels import OperatingLevel, check_level
from core.display import entered
from core.jsonio import loads
from core.store.common import plain, to_json
from core.store.errors import StoreError
from core.store.sqlite.base import SqliteRepository

LEVEL_KEYS = {"alert_trigger": "levels"}  # metadata that changes who gets warned is a levels action, not an edit


def _brief(value: Any) -> str:
    """A stored value in a few words for the activity log."""
    text = to_json(value, "metadata")
    return text if len(text) <= 80 else text[:77] + "..."


class ReservoirSettings(SqliteRepository):
    """Reservoir metadata and operating levels in SQLite (part of core.store.readings.Readings)."""

    def set_meta(self, reservoir: str, key: str, value: Any) -> None:
        """Store one small JSON value per reservoir (e.g. capacity); None removes the key."""
        key = str(key).strip()
        if not key:
            raise StoreError("A metadata key must not be empty.")
        with self._tx(write=True) as conn:
            row = self._reservoir_row(conn, reservoir)
            stored = None if value is None else plain(value, f"Reservoir '{row['name']}' metadata '{key}'")
            action = LEVEL_KEYS.get(key, "edit")
            change = "removed" if value is None else f"set to {_brief(stored)}"
            self._guard(conn, action, row["name"], f"{key} {change}")
            meta = loads(row["meta"], {})
            if value is None:
                meta.pop(key, None)
            else:
                meta[key] = stored
            conn.execute("UPDATE reservoirs SET meta = ? WHERE id = ?", (to_json(meta, "metadata"), row["id"]))

    def get_meta(self, reservoir: str, key: str, default: Any = None) -> Any:
        """Read one metadata value, or default when it was never set."""
        with self._tx(write=False) as conn:
            meta = loads(self._reservoir_row(conn, reservoir)["meta"], {})
        return meta.get(str(key).strip(), default)

    def levels(self, reservoir: str) -> list[OperatingLevel]:
        """The reservoir's operating levels in the order they were set."""
        with self._tx(write=False) as conn:
            rid = self._reservoir_row(conn, reservoir)["id"]
            rows = conn.execute("SELECT * FROM levels WHERE reservoir_id = ? ORDER BY position", (rid,)).fetchall()
        return [
            OperatingLevel(
                name=r["name"],
                value=float(r["value"]),
                unit=r["unit"],
                side=r["side"],
                severity=r["severity"],
                variable=r["variable"],
            )
            for r in rows
        ]

    def set_levels(self, reservoir: str, levels: Sequence[OperatingLevel], relative: Collection[str] = ()) -> None:
        """Replace the whole set; each level is checked (LevelError; `relative`: variables declared relative may be
        negative) and names must be unique (StoreError)."""
        levels = list(levels)
        for level in levels:
            check_level(level, relative=level.variable in relative)
        names = [lv.name.strip().lower() for lv in levels]
        dup = next((lv.name for lv, n in zip(levels, names, strict=True) if names.count(n) > 1), None)
        if dup is not None:
            raise StoreError(f"Two operating levels are named '{dup}'; give each level its own name.")
        with self._tx(write=True) as conn:
            row = self._reservoir_row(conn, reservoir)
            rid = row["id"]
            words = "; ".join(
                f"{lv.name} {entered(lv.value)} {lv.unit or ''} ({lv.side}, {lv.severity})" for lv in levels
            )
            self._guard(conn, "levels", row["name"], f"levels set: {words or 'none'}")
            conn.execute("DELETE FROM levels WHERE reservoir_id = ?", (rid,))
            conn.executemany(
                "INSERT INTO levels(reservoir_id, position, name, value, unit, side, severity, variable) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (rid, i, lv.name.strip(), float(lv.value), lv.unit, lv.side, lv.severity, lv.variable)
                    for i, lv in enumerate(levels)
                ],
            )
