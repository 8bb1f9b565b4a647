"""Every write of the workspace goes through the one guard (core.store.guard): the enumeration test.

The test lists the public methods of every repository the workspace hands out (and of the workspace itself) by
introspection and needs each one declared here: a READ (run as a viewer, it must change nothing, database and files
alike), a LOGGED write (a viewer is refused and nothing changes; an administrator's call leaves an activity row
naming them) or a PROGRESS write (refused for a viewer, checked but not logged: epochs, claims, locks, temp
folders). A new public method of any repository fails the test until it is declared, and a write declared as a read
fails because it changed something.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from core.app.pipeline import import_csv, load_clean, train_reservoir
from core.auth.roles import Actor, PermissionDenied, Role
from core.data.levels import OperatingLevel
from core.data.sample import SAMPLE_NAME as R
from core.data.sample import SampleConfig, make_sample
from core.model.config import ModelConfig, TrainConfig
from core.store.cycles import CycleReservoir
from core.store.inuse import LOCK_FILE, NOTES_DIR
from core.store.notices import PlannedChange
from core.store.repositories import CONTRACTS
from core.store.workspace import UploadInfo, Workspace

VIEWER = Actor("sub-viewer", "vera@utility.example", Role.viewer)
ADMIN = Actor("sub-admin", "ada@utility.example", Role.admin)
DEAD_PID = 2**31 - 1  # above any kernel pid_max: a job "running" there is dead
TMP_NAME = ".tmp-guard-test"  # a written, unregistered version folder for adopt_folder
FLOOD = OperatingLevel("Flood watch", 5.0, "m", "flood", "watch", "level")
RIDGE = TrainConfig(target="level", features=("rainfall", "inflow"), model=ModelConfig(name="ridge"))


@dataclass(frozen=True)
class Ids:
    """The rows the calls below refer to."""

    job: int
    cycle: int
    delivery: int
    revision: int


def _flood_change() -> list[PlannedChange]:
    """A new flood warning (an event with one delivery per channel)."""
    return [PlannedChange("flood", "warning", "warning", {}, "new", "normal", True, "flood warning", {})]


def _build(root: Path) -> tuple[Ids, Any]:
    """The sample with two ridge versions, a dead running job, a cycle run, a channel, a raised alert, a revision."""
    ws = Workspace(root)
    sample = make_sample(SampleConfig(start="2021-01-01", years=3)).frame  # small: every test copies and dumps it
    import_csv(ws, sample.rename_axis("date").reset_index().to_csv(index=False).encode(), reservoir=R, filename="s.csv")
    train_reservoir(ws, R, RIDGE)
    train_reservoir(ws, R, RIDGE, activate=False)
    ws.merge({"Other": _frame()}, {}, UploadInfo("other.csv", "sha-other"))
    ws.set_user("sub-gone", "viewer", "gone@utility.example")
    job = ws.create_job(R, "train", {})
    ws.update_job(job, status="running", pid=DEAD_PID)
    cycle = ws.start_cycle("serial", "none")
    ws.add_channel("hook", "webhook", "http://127.0.0.1:9/hook", {})
    ws.record_alert_changes(R, _flood_change(), {}, issued="2023-12-31", channels=ws.channels(), chart=None)
    delivery = ws.alert_events(R)[0].deliveries[0].id
    revision = ws.revise(R, "level", "2021-01-05", None, value=None, reason="logger fault", user="ops").id
    shutil.copytree(root / ws.version(R, 1).path, ws.models_dir / "r1" / TMP_NAME)
    result = _fit(ws)
    return Ids(job, cycle, delivery, revision), result


def _frame() -> pd.DataFrame:
    """Two days of levels for a second reservoir."""
    return pd.DataFrame({"level": [1.0, 2.0]}, index=pd.DatetimeIndex(["2020-01-01", "2020-01-02"], name="date"))


def _fit(ws: Workspace) -> Any:
    """A trained ridge result for save_version."""
    from core.model.train import fit

    return fit(load_clean(ws, R, ["level", "rainfall", "inflow"], RIDGE.clean).values, RIDGE)


Call = Callable[[Workspace, Ids, Any], Any]


def _locked(ws: Workspace) -> None:
    """Take and release the training lock."""
    with ws.training_lock(R):
        pass


def _held(ws: Workspace) -> None:
    """Hold the workspace in use for a moment (a lock: nothing stored changes)."""
    with ws.in_use("a guard test"):
        pass


def _adopt(ws: Workspace) -> Any:
    """Register the prepared temp folder."""
    tmp = ws.models_dir / "r1" / TMP_NAME
    return ws.adopt_folder(R, tmp, {"model_file": ws.version(R, 1).model_file}, 0.5, None)


READS: dict[str, Call] = {
    "acting_as": lambda ws, ids, _: ws.acting_as(ADMIN),
    "active_version": lambda ws, ids, _: ws.active_version(R),
    "active_versions": lambda ws, ids, _: ws.active_versions(),
    "activity": lambda ws, ids, _: ws.activity(),
    "actor_for": lambda ws, ids, _: ws.actor_for("sub-gone"),
    "alert_events": lambda ws, ids, _: ws.alert_events(),
    "alert_states": lambda ws, ids, _: ws.alert_states(),
    "audit": lambda ws, ids, _: ws.audit(R),
    "channel": lambda ws, ids, _: ws.channel("hook"),
    "channels": lambda ws, ids, _: ws.channels(),
    "cycle_runs": lambda ws, ids, _: ws.cycle_runs(),
    "get_meta": lambda ws, ids, _: ws.get_meta(R, "alert_trigger"),
    "in_use": lambda ws, ids, _: _held(ws),
    "job": lambda ws, ids, _: ws.job(ids.job),
    "jobs": lambda ws, ids, _: ws.jobs(active_only=True),
    "latest_cycle_results": lambda ws, ids, _: ws.latest_cycle_results(),
    "latest_days": lambda ws, ids, _: ws.latest_days(),
    "levels": lambda ws, ids, _: ws.levels(R),
    "load_version": lambda ws, ids, _: ws.load_version(R),
    "notify_setting": lambda ws, ids, _: ws.notify_setting("base_url"),
    "readings": lambda ws, ids, _: ws.readings(R),
    "reservoir": lambda ws, ids, _: ws.reservoir(R),
    "reservoir_name": lambda ws, ids, _: ws.reservoir_name(R),
    "reservoirs": lambda ws, ids, _: ws.reservoirs(),
    "revision_stamp": lambda ws, ids, _: ws.revision_stamp(R),
    "revisions": lambda ws, ids, _: ws.revisions(R),
    "seen_states": lambda ws, ids, _: ws.seen_states(R),
    "served_by": lambda ws, ids, _: ws.served_by(ws.version(R, 1).id),
    "stop_requested": lambda ws, ids, _: ws.stop_requested(ids.job),
    "training_holder": lambda ws, ids, _: ws.training_holder(R),
    "uploads": lambda ws, ids, _: ws.uploads(),
    "users": lambda ws, ids, _: ws.users(),
    "version": lambda ws, ids, _: ws.version(R),
    "versions": lambda ws, ids, _: ws.versions(R),
}

LOGGED: dict[str, Call] = {
    "acknowledge": lambda ws, ids, _: ws.acknowledge(R, "flood", "ann"),
    "activate": lambda ws, ids, _: ws.activate(R, 2),
    "add_channel": lambda ws, ids, _: ws.add_channel("second", "webhook", "http://127.0.0.1:9/second", {}),
    "adopt_folder": lambda ws, ids, _: _adopt(ws),
    "clean_leftovers": lambda ws, ids, _: ws.clean_leftovers(),
    "create_job": lambda ws, ids, _: ws.create_job("Other", "train", {}),
    "delete_version": lambda ws, ids, _: ws.delete_version(R, 2),
    "finish_cycle": lambda ws, ids, _: ws.finish_cycle(ids.cycle, "ok", 1.0),
    "finish_delivery": lambda ws, ids, _: ws.finish_delivery(ids.delivery, None, 5),
    "link": lambda ws, ids, _: ws.link(ws.version(R, 1).id, "Other"),
    "mark_interrupted": lambda ws, ids, _: ws.mark_interrupted(),
    "merge": lambda ws, ids, _: ws.merge({"Third": _frame()}, {}, UploadInfo("third.csv", "sha-third")),
    "record_alert_changes": lambda ws, ids, _: ws.record_alert_changes(
        "Other", _flood_change(), {}, issued="2020-01-02", channels=ws.channels(), chart=None
    ),
    "record_cycle_result": lambda ws, ids, _: ws.record_cycle_result(ids.cycle, CycleReservoir(R, "ok")),
    "record_test": lambda ws, ids, _: ws.record_test(ws.channel("hook"), "test", {}, None),
    "remove_channel": lambda ws, ids, _: ws.remove_channel("hook"),
    "remove_user": lambda ws, ids, _: ws.remove_user("sub-gone"),
    "request_stop": lambda ws, ids, _: ws.request_stop(ids.job),
    "revise": lambda ws, ids, _: ws.revise(R, "level", "2021-02-01", None, value=None, reason="x", user="ann"),
    "save_version": lambda ws, ids, result: ws.save_version(R, result, activate=False),
    "set_levels": lambda ws, ids, _: ws.set_levels(R, [FLOOD]),
    "set_meta": lambda ws, ids, _: ws.set_meta(R, "alert_trigger", 0.4),
    "set_notify_setting": lambda ws, ids, _: ws.set_notify_setting("base_url", "https://sentinel.example.org"),
    "set_user": lambda ws, ids, _: ws.set_user("sub-new", "operator"),
    "start_cycle": lambda ws, ids, _: ws.start_cycle("serial", "none"),
    "undo_revision": lambda ws, ids, _: ws.undo_revision(R, ids.revision, "ann"),
    "update_job": lambda ws, ids, _: ws.update_job(ids.job, status="done"),
}

PROGRESS: dict[str, Call] = {
    "add_epoch": lambda ws, ids, _: ws.add_epoch(ids.job, 1, {"loss": 1.0}, 0.1, 3),
    "claim_deliveries": lambda ws, ids, _: ws.claim_deliveries(),
    "new_tmp_folder": lambda ws, ids, _: ws.new_tmp_folder(R),
    "release_deliveries": lambda ws, ids, _: ws.release_deliveries([ids.delivery]),
    "training_lock": lambda ws, ids, _: _locked(ws),
}


def _public(cls: type) -> set[str]:
    """A class's public callables (properties and data are not calls)."""
    return {n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n))}


def public_methods(tmp_path: Path) -> set[str]:
    """What any page, job or actor can reach: the workspace's own methods and every repository's (each contract's
    and each implementation's, so a public method added to an implementation alone is caught too)."""
    ws = Workspace(tmp_path / "enumerated")
    repos = [getattr(ws.repos, f.name) for f in fields(ws.repos)]
    contracts = [_public(c) for c in CONTRACTS.values()]
    return _public(Workspace) | set().union(*(_public(type(r)) for r in repos), *contracts)


def snapshot(ws: Workspace) -> tuple[list[str], dict[str, str]]:
    """Everything stored: the database's rows (as SQL) and every other file under the workspace with its digest."""
    conn = sqlite3.connect(f"file:{ws.db_path}?mode=ro", uri=True)
    try:
        rows = list(conn.iterdump())
    finally:
        conn.close()
    files = {}
    for path in sorted(ws.root.rglob("*")):
        if path.name.startswith("sentinel.db") or path.name in (LOCK_FILE, NOTES_DIR):
            continue  # the database is compared by its rows; lock files hold no data
        rel = path.relative_to(ws.root).as_posix()
        files[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return rows, files


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Ids, Any]:
    """One prepared workspace; each test works on a private copy of it."""
    root = tmp_path_factory.mktemp("guard") / "ws"
    ids, result = _build(root)
    return root, ids, result


def _copy(built: tuple[Path, Ids, Any], tmp_path: Path) -> Workspace:
    """A private copy of the prepared workspace."""
    root = tmp_path / "ws"
    shutil.copytree(built[0], root)
    return Workspace(root)


def test_every_public_method_is_declared(tmp_path: Path) -> None:
    """A new public method must be declared a read, a logged write or a progress write before this passes."""
    declared = set(READS) | set(LOGGED) | set(PROGRESS)
    assert not set(READS) & (set(LOGGED) | set(PROGRESS)) and not set(LOGGED) & set(PROGRESS)
    public = public_methods(tmp_path)
    assert public - declared == set(), "declare each new public repository or Workspace method in this test"
    assert declared - public == set(), "remove methods the workspace no longer has"


@pytest.mark.slow
def test_reads_change_nothing_for_a_viewer(built, tmp_path: Path) -> None:
    """Every method declared a read runs for a viewer and leaves the database and the files exactly as they were."""
    ws = _copy(built, tmp_path)
    viewer = ws.acting_as(VIEWER)
    for name, call in READS.items():
        before = snapshot(ws)
        call(viewer, built[1], built[2])
        assert snapshot(ws) == before, f"{name} is declared a read but changed the workspace"


@pytest.mark.parametrize("name", sorted(LOGGED) + sorted(PROGRESS))
def test_every_write_refuses_a_viewer_and_changes_nothing(name: str, built, tmp_path: Path) -> None:
    """A viewer's write is refused by the guard, naming the role it needs; nothing is written, not even a log row."""
    ws = _copy(built, tmp_path)
    call = {**LOGGED, **PROGRESS}[name]
    before = snapshot(ws)
    with pytest.raises(PermissionDenied, match="signed in as viewer"):
        call(ws.acting_as(VIEWER), built[1], built[2])
    assert snapshot(ws) == before


@pytest.mark.parametrize("name", sorted(LOGGED))
def test_every_logged_write_leaves_an_activity_row(name: str, built, tmp_path: Path) -> None:
    """The same call by an administrator does its work and logs who did it, in the same transaction."""
    ws = _copy(built, tmp_path)
    before = snapshot(ws)
    seen = {a.id for a in ws.activity(limit=10_000)}
    LOGGED[name](ws.acting_as(ADMIN), built[1], built[2])
    assert snapshot(ws) != before, f"{name} changed nothing: the call above does not exercise it"
    new = [a for a in ws.activity(limit=10_000) if a.id not in seen]
    assert new and all(a.name == ADMIN.name and a.role == "admin" for a in new), (name, new)


@pytest.mark.parametrize("name", sorted(PROGRESS))
def test_progress_writes_work_for_an_operator(name: str, built, tmp_path: Path) -> None:
    """Progress writes pass the guard for a permitted role (they are checked, not logged again)."""
    ws = _copy(built, tmp_path)
    PROGRESS[name](ws.acting_as(Actor("sub-op", "otto@utility.example", Role.operator)), built[1], built[2])


def test_a_background_run_writes_as_its_system_actor(built, tmp_path: Path) -> None:
    """A job's or cycle's writes are logged under the run's own name, not as an anonymous or forged user."""
    from core.auth.roles import system_actor

    ws = _copy(built, tmp_path)
    run = ws.acting_as(system_actor("train job #1"))
    run.update_job(built[1].job, status="done", message="version 3 saved")
    assert ws.activity(limit=1)[0].name == "train job #1" and ws.activity(limit=1)[0].role == "operator"
    cycle = system_actor("daily cycle #4", VIEWER)
    assert cycle.role is Role.viewer  # a run never has more rights than whoever started it
    with pytest.raises(PermissionDenied):
        ws.acting_as(cycle).record_cycle_result(built[1].cycle, CycleReservoir(R, "ok"))
