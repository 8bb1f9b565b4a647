"""The store's contracts: one suite every backend must pass (as sktime runs one suite over every estimator).

Each test talks to one repository through its contract (core.store.readings.Readings, versions.Versions,
jobs.Jobs, notices.Notices, cycles.Cycles, users.Users) and nothing else: no SQL, no file layout. A new backend
(PostgreSQL for a multi-host deployment) is one more parameter of the `backend` fixture below.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.auth.roles import Actor, PermissionDenied, Role
from core.data.levels import OperatingLevel
from core.registry import VersionError
from core.store.cycles import CycleReservoir
from core.store.errors import StoreError, UnknownReservoir
from core.store.jobs import JobProgress
from core.store.locks import TrainingLocked
from core.store.notices import PlannedChange, StateMoved
from core.store.readings import UploadInfo
from core.store.repositories import CONTRACTS, ROUTES, Repositories, methods
from core.store.workspace import Workspace

DEAD_PID = 2**31 - 1  # above any kernel pid_max: a job "running" there is dead


def sqlite_backend(root: Path, actor: Actor) -> Repositories:
    """The SQLite workspace's repositories."""
    return Workspace(root, actor).repos


BACKENDS: dict[str, Callable[[Path, Actor], Repositories]] = {"sqlite": sqlite_backend}
ADMIN = Actor("sub-admin", "ada", Role.admin)


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[Actor], Repositories]:
    """Repositories of one fresh workspace of the backend under test, for any actor."""
    root = tmp_path / "ws"
    return lambda actor=ADMIN: BACKENDS[request.param](root, actor)


@pytest.fixture
def repos(backend: Callable[..., Repositories]) -> Repositories:
    """The repositories as an administrator sees them."""
    return backend()


def days(start: str, **columns: list[float]) -> pd.DataFrame:
    """A daily frame from `start`, one column per variable."""
    n = len(next(iter(columns.values())))
    return pd.DataFrame(columns, index=pd.DatetimeIndex(pd.date_range(start, periods=n), name="date"))


def upload(repos: Repositories, name: str = "Lake", sha: str = "f1", **columns: list[float]) -> None:
    """One upload of `columns` (default: three levels) into reservoir `name`."""
    frame = days("2024-01-01", **(columns or {"level": [1.0, 2.0, 3.0]}))
    repos.readings.merge({name: frame}, {name: {c: "m" for c in frame.columns}}, UploadInfo(f"{sha}.csv", sha))


def add_version(repos: Repositories, reservoirs: str | list[str], val_mae: float | None = 0.5, **kw: object):
    """Register a stand-in version folder through the contract (new_tmp_folder, then adopt_folder)."""
    tmp = repos.versions.new_tmp_folder(reservoirs)
    (tmp / "model.json").write_text("{}")
    return repos.versions.adopt_folder(reservoirs, tmp, {"model_file": "model.json"}, val_mae, None, **kw)


# ---------------------------------------------------------------- the contracts themselves


def test_every_implementation_fulfils_its_contract_and_nothing_more(repos: Repositories) -> None:
    """Each repository is its contract's instance, and has no public method the contract does not declare (so
    ``ws.<method>`` reaches every method, and the write-guard test enumerates them all)."""
    for concern, contract in CONTRACTS.items():
        repo = getattr(repos, concern)
        assert isinstance(repo, contract)
        public = {n for n in dir(type(repo)) if not n.startswith("_") and callable(getattr(type(repo), n))}
        assert public == set(methods(contract)), (concern, public ^ set(methods(contract)))


def test_a_method_name_belongs_to_one_contract() -> None:
    """ws.<method> routes by name, so no two contracts may declare the same one."""
    declared = [name for contract in CONTRACTS.values() for name in methods(contract)]
    assert len(declared) == len(set(declared)) == len(ROUTES)


# ---------------------------------------------------------------- readings


def test_merge_counts_and_a_repeated_file_writes_nothing(repos: Repositories) -> None:
    upload(repos)
    frame = days("2024-01-02", level=[2.0, 9.0, 4.0, np.nan])
    (again,) = repos.readings.merge({"lake": frame}, {}, UploadInfo("f2.csv", "f2"))
    assert (again.reservoir, again.added, again.changed, again.unchanged) == ("Lake", 1, 1, 1)
    (twice,) = repos.readings.merge({"lake": frame}, {}, UploadInfo("f2.csv", "f2"))
    assert twice.already_imported and twice.upload_id == again.upload_id
    got = repos.readings.readings("LAKE", ["level"])
    assert got["level"].tolist() == [1.0, 2.0, 9.0, 4.0]  # NaN never deletes
    assert [a["old"] for a in repos.readings.audit("Lake")] == [3.0]
    assert [u["filename"] for u in repos.readings.uploads()] == ["f2.csv", "f1.csv"]


def test_a_conflicting_unit_is_refused_and_nothing_is_written(repos: Repositories) -> None:
    upload(repos)
    with pytest.raises(StoreError, match="unit 'ft'"):
        repos.readings.merge({"Lake": days("2024-02-01", level=[5.0])}, {"Lake": {"level": "ft"}}, UploadInfo("x", "x"))
    assert len(repos.readings.readings("Lake")) == 3 and len(repos.readings.uploads()) == 1


def test_unknown_reservoirs_are_named(repos: Repositories) -> None:
    upload(repos)
    with pytest.raises(UnknownReservoir, match="Known reservoirs: Lake"):
        repos.readings.reservoir("Pond")
    assert repos.readings.reservoir_name(" lake ") == "Lake"
    assert repos.readings.latest_days() == {"Lake": {"level": "2024-01-03"}}


def test_revisions_lie_over_the_raw_readings_and_undo_reveals_them(repos: Repositories) -> None:
    upload(repos)
    rev = repos.readings.revise("Lake", "level", "2024-01-02", None, value=None, reason="fault", user="ann")
    stamp = repos.readings.revision_stamp("Lake")
    assert repos.readings.readings("Lake")["level"].tolist() == [1.0, 3.0]
    assert len(repos.readings.readings("Lake", raw=True)) == 3
    repos.readings.undo_revision("Lake", rev.id, "bob")
    assert repos.readings.readings("Lake")["level"].tolist() == [1.0, 2.0, 3.0]
    assert repos.readings.revision_stamp("Lake") != stamp and not repos.readings.revisions("Lake")[0].active


def test_settings_and_levels_round_trip(repos: Repositories) -> None:
    upload(repos)
    repos.readings.set_meta("Lake", "capacity", {"value": 10})
    assert repos.readings.get_meta("lake", "capacity") == {"value": 10}
    repos.readings.set_meta("Lake", "capacity", None)
    assert repos.readings.get_meta("Lake", "capacity", "none") == "none"
    flood = OperatingLevel("Flood", 5.0, "m", "flood", "warning", "level")
    repos.readings.set_levels("Lake", [flood])
    assert repos.readings.levels("Lake") == [flood]
    with pytest.raises(StoreError, match="Two operating levels"):
        repos.readings.set_levels("Lake", [flood, flood])


# ---------------------------------------------------------------- versions


def test_numbers_per_reservoir_are_never_reused_and_the_rule_picks_the_active(repos: Repositories) -> None:
    upload(repos)
    first = add_version(repos, "Lake", 0.5)
    worse, better = add_version(repos, "Lake", 0.9), add_version(repos, "Lake", 0.1)
    assert (first.version, worse.version, better.version) == (1, 2, 3)
    assert [v.active for v in repos.versions.versions("Lake")] == [False, False, True]
    with pytest.raises(StoreError, match="active model"):
        repos.versions.delete_version("Lake", 3)
    repos.versions.delete_version("Lake", 2)
    assert add_version(repos, "Lake").version == 4
    with pytest.raises(StoreError, match="known versions: 1, 3, 4"):
        repos.versions.version("Lake", 2)
    repos.versions.activate("Lake", 1)
    assert repos.versions.version("Lake").version == 1 and repos.versions.active_versions()["Lake"].version == 1


def test_one_version_serves_several_reservoirs_each_with_its_own_number(repos: Repositories) -> None:
    """A fleet-style version: one id, one folder, a number and an active flag per reservoir, and a parent."""
    upload(repos, "A", "a")
    upload(repos, "B", "b")
    add_version(repos, "B")  # B's own first version: the shared one becomes B's number 2
    shared = add_version(repos, ["A", "B"], {"A": 0.2, "B": 0.9}, kind="fleet")
    served = {v.reservoir: v for v in repos.versions.served_by(shared.id)}
    assert {n: (v.version, v.active, v.val_mae, v.id) for n, v in served.items()} == {
        "A": (1, True, 0.2, shared.id),
        "B": (2, False, 0.9, shared.id),  # B's own version (0.5) stays active
    }
    assert served["A"].path == served["B"].path
    child = add_version(repos, "B", 0.1, parent_id=shared.id)
    assert child.parent_id == shared.id and child.active
    upload(repos, "C", "c")
    linked = repos.versions.link(shared.id, "C", 0.3, {"history_days": 40})
    assert (linked.version, linked.active, linked.meta["history_days"]) == (1, True, 40)
    repos.versions.delete_version("B", 2)
    assert [v.reservoir for v in repos.versions.served_by(shared.id)] == ["A", "C"]


def test_a_version_changed_on_disk_is_never_loaded(repos: Repositories, tmp_path: Path) -> None:
    upload(repos)
    version = add_version(repos, "Lake")
    (tmp_path / "ws" / version.path / "model.json").write_text('{"tampered": 1}')
    with pytest.raises(VersionError, match="changed on disk"):
        repos.versions.load_version("Lake")


def test_the_training_lock_admits_one_training_per_reservoir(repos: Repositories) -> None:
    upload(repos, "A", "a")
    upload(repos, "B", "b")
    with repos.versions.training_lock("A", "B"):
        assert repos.versions.training_holder("B") is not None
        with pytest.raises(TrainingLocked, match="already being trained"), repos.versions.training_lock("B"):
            pass
    assert repos.versions.training_holder("A") is None


# ---------------------------------------------------------------- jobs, cycles, notices, users


def test_jobs_report_progress_and_a_dead_process_reads_interrupted(repos: Repositories) -> None:
    upload(repos)
    job = repos.jobs.create_job("Lake", "train", {"config": {"epochs": 3}})
    with pytest.raises(StoreError, match=f"#{job}"):
        repos.jobs.create_job("Lake", "train", {})
    repos.jobs.update_job(job, status="running", pid=DEAD_PID, progress=JobProgress(0, 2, "ridge"))
    repos.jobs.add_epoch(job, 1, {"loss": 0.5}, 0.1, 3)
    repos.jobs.request_stop(job)
    got = repos.jobs.job(job)
    assert (got.status, got.progress.model, len(got.epochs), repos.jobs.stop_requested(job)) == (
        "interrupted", "ridge", 1, True
    )
    assert repos.jobs.mark_interrupted() == 1 and repos.jobs.jobs("Lake", active_only=True) == []


def test_cycle_runs_keep_each_reservoirs_latest_result(repos: Repositories) -> None:
    upload(repos)
    first = repos.cycles.start_cycle("serial", "none")
    repos.cycles.record_cycle_result(first, CycleReservoir("Lake", "failed", error="no data"))
    repos.cycles.finish_cycle(first, "partial", 1.5)
    second = repos.cycles.start_cycle("serial", "due")
    repos.cycles.record_cycle_result(second, CycleReservoir("Lake", "ok"))
    runs = repos.cycles.cycle_runs(with_results=True)
    assert [(r.id, r.status) for r in runs] == [(second, "running"), (first, "partial")]
    assert repos.cycles.latest_cycle_results()["Lake"].status == "ok"


def test_alert_changes_are_recorded_once_and_delivered(repos: Repositories) -> None:
    upload(repos)
    hook = repos.notices.add_channel("hook", "webhook", "http://127.0.0.1:9/hook", {})
    plan = [PlannedChange("flood", "warning", "warning", {}, "new", "normal", True, "flood warning", {})]
    seen = repos.notices.seen_states("Lake")
    (event,) = repos.notices.record_alert_changes("Lake", plan, seen, issued="2024-01-03", channels=[hook], chart=None)
    with pytest.raises(StateMoved):  # another process recorded since `seen` was read
        repos.notices.record_alert_changes("Lake", plan, seen, issued="2024-01-03", channels=[hook], chart=None)
    (pending,) = repos.notices.claim_deliveries()
    assert pending.delivery.event_id == event.id and repos.notices.claim_deliveries() == []
    assert repos.notices.finish_delivery(pending.delivery.id, None, 3).status == "delivered"
    assert repos.notices.acknowledge("Lake", "flood", "ann").user == "ann"
    assert repos.notices.alert_states("Lake")[0].acked_by == "ann"


def test_users_roles_and_the_activity_log(backend: Callable[..., Repositories]) -> None:
    admin = backend()
    admin.users.set_user("sub-v", "viewer", "vera")
    viewer = backend(admin.users.actor_for("sub-v"))
    with pytest.raises(PermissionDenied, match="signed in as viewer"):
        viewer.users.remove_user("sub-v")
    upload(admin)
    assert [a.action for a in admin.users.activity(limit=2)] == ["import", "users"]
    admin.users.remove_user("sub-v")
    assert admin.users.actor_for("sub-v") is None and admin.users.users() == []
