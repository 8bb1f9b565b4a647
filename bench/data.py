"""The 9 shared real reservoirs, imported through the app's own pipeline (so QC and cleaning are what users get)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.app.pipeline import import_csv
from core.store.workspace import Workspace

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SNAKE = ("Jackson", "Palisades", "AmericanFalls", "Minidoka", "Milner")
CHENNAI = ("POONDI", "CHOLAVARAM", "REDHILLS", "CHEMBARAMBAKKAM")


@dataclass(frozen=True)
class Task:
    """One benchmark series: which reservoir, which group, target and covariates."""

    group: str
    reservoir: str
    target: str
    features: tuple[str, ...]


def load_all(ws: Workspace, shared: Path = SHARED) -> list[Task]:
    """Import every shared file into ws (idempotent) and list the 9 forecasting tasks of the data README."""
    if not shared.exists():
        raise SystemExit(f"Shared data not found at {shared}; the benchmark needs ../shared/data beside the repo.")
    chennai = shared / "chennai"
    import_csv(ws, chennai / "chennai_reservoir_levels.csv", variable="storage", units={"storage": "mcft"})
    import_csv(ws, chennai / "chennai_reservoir_rainfall.csv", variable="rainfall", units={"rainfall": "mm"})
    tasks = [Task("Chennai", name, "storage", ("rainfall",)) for name in CHENNAI]
    for name in SNAKE:
        import_csv(ws, shared / "snake_river" / f"{name}.csv", reservoir=name)
        tasks.append(Task("Snake River", name, "storage", ("inflow", "outflow")))
    return tasks


def select(tasks: list[Task], only: str | None) -> list[Task]:
    """The tasks named in a comma-separated --only list (any case); all of them without one."""
    if not only:
        return tasks
    keep = {n.strip().lower() for n in only.split(",")}
    return [t for t in tasks if t.reservoir.lower() in keep]
