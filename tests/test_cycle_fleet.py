"""The fleet model in the daily cycle (`cycle --fleet`, issue 22): the fleet trained as one task, fine-tunes fanned
out per reservoir, on the local engine and on a real local Ray instance; the due rule for a cold start.

The workspace is tests/test_fleet_train.py's: three reservoirs long enough for their own training and one with 60
days (a cold start).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.fleet.cycle import CycleOptions, run_cycle
from core.fleet.due import TRAIN_NO, TRAIN_YES, DueRule, own_training_days, verdict
from core.fleet.engines import EngineSettings
from core.fleet.fleetstage import FLEET_TASK
from core.fleet.raydriver import largest_node_cpus
from core.registry import FLEET, ModelVersion
from core.store.workspace import Workspace
from tests.test_cycle_ray import ray_instance  # noqa: F401 - the module's Ray instance (a fixture)
from tests.test_fleet_train import fleet_workspace

TRAINED = ("Gauged", "Wet A", "Wet B")


def check_fleet_cycle(ws: Workspace, engine: str, twice: bool = True) -> None:
    """First run: the fleet is trained once and serves all four, the three long records are fine-tuned from it,
    every reservoir forecasts; second run (`twice`): nothing is due, nothing new is saved."""
    options = CycleOptions(engine=EngineSettings(name=engine, workers=2), max_epochs=2, fleet=True, notify=False)
    steps: list[tuple[int, int, str]] = []
    report = run_cycle(ws, options, lambda *step: steps.append(step))
    stage = report.fleet
    assert stage is not None and stage.status == "ok" and stage.retrained, stage
    assert steps[0] == (0, 4, FLEET_TASK) and len(steps) == 5  # the dashboard says the fleet comes first
    threads = {t["reservoir"]: t["threads"] for t in report.timings}
    assert threads == {FLEET_TASK: 2, "Gauged": 1, "Wet A": 1, "Wet B": 1, "New": 1}  # the fleet: a whole node
    note = ws.cycle_runs(1)[0].message or ""
    assert f"4 of 4 reservoirs ok; fleet model retrained: version id {stage.version_id}, 4 reservoirs" in note
    assert sorted(stage.serves) == ["Gauged", "New", "Wet A", "Wet B"]
    assert report.to_dict()["fleet"]["version_id"] == stage.version_id
    links = {v.reservoir: v for v in ws.served_by(stage.version_id)}
    assert set(links) == set(stage.serves) and all(v.kind == FLEET for v in links.values())
    rows = {r.reservoir: r for r in report.reservoirs}
    assert all(r.status == "ok" for r in rows.values()), [r.error for r in rows.values()]
    for name in TRAINED:
        tuned = ws.versions(name)[-1]
        assert rows[name].retrained and rows[name].new_version == tuned.version
        assert tuned.parent_id == stage.version_id and tuned.model == "fleet_tuned"
    assert not rows["New"].retrained and rows["New"].version == links["New"].version and rows["New"].model == "fleet"
    assert links["New"].meta["cold_start"]
    if not twice:
        return
    counts = {n: len(ws.versions(n)) for n in stage.serves}
    again = run_cycle(ws, options)
    assert again.fleet is not None and again.fleet.status == "not due" and not again.fleet.retrained
    assert "fleet model not retrained: fleet version" in (ws.cycle_runs(1)[0].message or "")
    assert all(r.status == "ok" and not r.retrained for r in again.reservoirs)
    assert {n: len(ws.versions(n)) for n in stage.serves} == counts


@pytest.mark.slow
def test_fleet_cycle_on_the_local_engine(tmp_path):
    check_fleet_cycle(fleet_workspace(tmp_path), "local")


@pytest.mark.slow
def test_fleet_cycle_on_a_real_local_ray_instance(ray_instance, tmp_path):  # noqa: F811 - the fixture imported above
    check_fleet_cycle(fleet_workspace(tmp_path), "ray", twice=False)  # the local engine's test runs it twice
    assert ray_instance.is_initialized()


def _cold_start(first: str, last: str) -> ModelVersion:
    """A fleet version as a cold-start reservoir sees it: its record's span, no scores."""
    meta = {"cold_start": True, "data": {"range": [first, last]}, "config": {"model": {"name": "fleet"}}}
    return ModelVersion.from_dict({"version": 1, "active": True, "kind": FLEET, "meta": meta}, "New")


def test_the_fleet_task_fits_the_largest_live_ray_node():
    """On a cluster the fleet training asks for every CPU of the largest live node: more fits nowhere."""
    nodes = [
        {"Alive": True, "Resources": {"CPU": 8.0}},
        {"Alive": False, "Resources": {"CPU": 64.0}},  # gone: nothing can run there
        {"Alive": True, "Resources": {"CPU": 16.0, "GPU": 1.0}},
        {"Alive": True, "Resources": {"memory": 1e9}},  # a node without CPUs (head node set to 0)
    ]
    assert largest_node_cpus(nodes) == 16
    assert largest_node_cpus([]) == 1


def test_a_cold_start_is_due_once_its_record_is_long_enough_for_its_own_training():
    assert own_training_days() == 140  # 21-day windows, 15 % validation and test (core.model.train's split)
    start = pd.Timestamp("2024-01-01")
    version = _cold_start("2024-01-01", "2024-02-29")
    for mode in ("due", "all"):  # its record cannot be split yet: never trained before 140 days
        early = verdict(mode, version, start + pd.Timedelta(days=120), DueRule(after_days=1))
        assert early.train == TRAIN_NO and "121 days of record, its own training needs 140" in early.reason
    grown = verdict("due", version, start + pd.Timedelta(days=own_training_days() - 1), DueRule(after_days=1000))
    assert grown.train == TRAIN_YES and "cold start: 140 days of record now" in grown.reason
    assert verdict("none", version, start + pd.Timedelta(days=400), DueRule()).train != TRAIN_YES


def test_cycle_fleet_flag_is_in_the_cli(tmp_path: Path):
    from core.cli.main import _parser

    args = _parser().parse_args(["cycle", "--fleet", "--retrain", "all"])
    assert args.fleet and args.retrain == "all"
