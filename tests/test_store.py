"""Workspace store: merge rules, audit, repeat uploads, levels, model versions, jobs, old rows and concurrent use."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.levels import LevelError, OperatingLevel
from core.store.sqlite.schema import SCHEMA_VERSION
from core.store.workspace import (
    Job,
    JobProgress,
    MergeResult,
    ModelVersion,
    StoreError,
    UnknownReservoir,
    UploadInfo,
    Workspace,
    beats_active,
    pid_alive,
    resolve_workspace,
)
from tests.store_support import add_version

REPO = Path(__file__).resolve().parents[1]
DEAD_PID = 2**31 - 1  # above any kernel pid_max, so no process can have it


def frame(dates: list[str], **columns: list[float]) -> pd.DataFrame:
    """A frame in the project convention (DatetimeIndex 'date', float columns)."""
    return pd.DataFrame(
        {k: np.asarray(v, dtype="float64") for k, v in columns.items()},
        index=pd.DatetimeIndex(pd.to_datetime(dates), name="date"),
    )


def dump(ws: Workspace) -> list[str]:
    """Every table's full content as SQL, to prove an operation wrote nothing."""
    conn = sqlite3.connect(ws.db_path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")


@pytest.fixture()
def poondi(ws: Workspace) -> Workspace:
    """A workspace with one reservoir holding level/storage on three days."""
    ws.merge(
        {"Poondi": frame(["2020-01-01", "2020-01-02", "2020-01-03"], level=[10, 11, 12], storage=[100, 110, 120])},
        {"Poondi": {"level": "m", "storage": "MCM"}},
        UploadInfo("first.csv", "sha-first"),
        source_columns={"Poondi": {"level": "Level_m", "storage": "Storage_m3"}},
    )
    return ws


def test_new_workspace_creates_folder_db_and_models(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "a" / "b")
    assert ws.db_path.is_file() and ws.models_dir.is_dir()
    assert ws.db.schema_version() == SCHEMA_VERSION
    assert ws.reservoirs() == []
    mode = sqlite3.connect(ws.db_path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_resolve_workspace_explicit_env_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTINEL_WORKSPACE", str(tmp_path / "env"))
    assert resolve_workspace(tmp_path / "explicit") == (tmp_path / "explicit").resolve()
    assert resolve_workspace(None) == (tmp_path / "env").resolve()
    monkeypatch.delenv("SENTINEL_WORKSPACE")
    monkeypatch.chdir(tmp_path)
    assert resolve_workspace(None) == (tmp_path / "workspace").resolve()


def test_first_merge_adds_everything_and_reports_span(poondi: Workspace) -> None:
    info = poondi.reservoir("poondi")  # case-insensitive
    assert info.name == "Poondi"
    assert [v.name for v in info.variables] == ["level", "storage"]
    level = info.variable("level")
    assert (level.unit, level.source_column, level.first, level.last, level.count) == (
        "m",
        "Level_m",
        "2020-01-01",
        "2020-01-03",
        3,
    )
    assert (info.first, info.last) == ("2020-01-01", "2020-01-03")
    [upload] = poondi.uploads()
    assert upload["filename"] == "first.csv" and upload["added"] == 6 and upload["reservoirs"] == ["Poondi"]


def test_merge_counts_added_changed_unchanged(poondi: Workspace) -> None:
    [result] = poondi.merge(
        {
            "POONDI": frame(
                ["2020-01-02", "2020-01-03", "2020-01-04"],
                level=[11 + 1e-12, 12.5, 13],  # within tolerance, changed, new
                storage=[110, 120, 130],  # unchanged, unchanged, new
            )
        },
        {"POONDI": {"level": "m", "storage": "MCM"}},
        UploadInfo("second.csv", "sha-second"),
    )
    assert isinstance(result, MergeResult)
    assert (result.reservoir, result.added, result.changed, result.unchanged) == ("Poondi", 2, 1, 3)
    assert not result.already_imported and result.upload_id is not None
    assert result.to_dict()["changed"] == 1
    stored = poondi.readings("Poondi")
    assert stored.loc["2020-01-03", "level"] == 12.5
    assert stored.loc["2020-01-02", "level"] == 11  # the stored value is kept when unchanged
    assert len(stored) == 4


def test_changed_value_leaves_audit_row_with_upload_id(poondi: Workspace) -> None:
    [result] = poondi.merge(
        {"Poondi": frame(["2020-01-02"], level=[99.0])},
        {"Poondi": {"level": "m"}},
        UploadInfo("fix.csv", "sha-fix"),
    )
    [row] = poondi.audit("Poondi")
    assert (row["variable"], row["date"], row["old"], row["new"]) == ("level", "2020-01-02", 11.0, 99.0)
    assert row["upload_id"] == result.upload_id and row["filename"] == "fix.csv"
    assert row["time"].endswith("Z")


def test_same_file_twice_changes_nothing(poondi: Workspace) -> None:
    before = dump(poondi)
    [result] = poondi.merge(
        {"Poondi": frame(["2020-01-01", "2020-01-02", "2020-01-03"], level=[10, 11, 12], storage=[100, 110, 120])},
        {"Poondi": {"level": "m", "storage": "MCM"}},
        UploadInfo("first.csv", "sha-first"),
        source_columns={"Poondi": {"level": "Level_m", "storage": "Storage_m3"}},
    )
    assert result.already_imported
    assert (result.added, result.changed, result.unchanged) == (0, 0, 6)
    assert result.upload_id == poondi.uploads()[0]["id"]
    assert dump(poondi) == before


def test_same_content_under_new_hash_is_logged_but_changes_no_reading(poondi: Workspace) -> None:
    [result] = poondi.merge({"Poondi": frame(["2020-01-01"], level=[10])}, {}, UploadInfo("copy.csv", "sha-other"))
    assert not result.already_imported and (result.added, result.changed, result.unchanged) == (0, 0, 1)
    assert len(poondi.uploads()) == 2 and poondi.audit("Poondi") == []


def test_nan_in_upload_never_deletes_stored_value(poondi: Workspace) -> None:
    [result] = poondi.merge(
        {"Poondi": frame(["2020-01-01", "2020-01-02"], level=[np.nan, np.nan], storage=[np.nan, 111])},
        {},
        UploadInfo("gaps.csv", "sha-gaps"),
    )
    assert (result.added, result.changed, result.unchanged) == (0, 1, 0)  # NaNs counted nowhere
    stored = poondi.readings("Poondi")
    assert stored.loc["2020-01-01", "level"] == 10 and stored.loc["2020-01-02", "level"] == 11
    assert stored.loc["2020-01-01", "storage"] == 100 and stored.loc["2020-01-02", "storage"] == 111


def test_unit_conflict_names_both_units_and_writes_nothing(poondi: Workspace) -> None:
    before = dump(poondi)
    with pytest.raises(StoreError, match=r"'ft'.*'m'"):
        poondi.merge(
            {"Poondi": frame(["2020-01-05"], level=[40.0])},
            {"Poondi": {"level": "ft"}},
            UploadInfo("feet.csv", "sha-feet"),
        )
    assert dump(poondi) == before


def test_wide_upload_is_all_or_nothing(ws: Workspace) -> None:
    ws.merge({"Cholavaram": frame(["2020-01-01"], level=[5.0])}, {"Cholavaram": {"level": "m"}}, UploadInfo("c", "c"))
    before = dump(ws)
    wide = {
        "Poondi": frame(["2020-01-01", "2020-01-02"], level=[1, 2]),
        "Redhills": frame(["2020-01-01", "2020-01-02"], level=[3, 4]),
        "Cholavaram": frame(["2020-01-01", "2020-01-02"], level=[7, 8]),  # third one fails: unit conflict
        "Chembarambakkam": frame(["2020-01-01"], level=[9]),
    }
    units = {name: {"level": "ft" if name == "Cholavaram" else "m"} for name in wide}
    with pytest.raises(StoreError, match="Cholavaram"):
        ws.merge(wide, units, UploadInfo("wide.csv", "sha-wide"))
    assert [r.name for r in ws.reservoirs()] == ["Cholavaram"]
    assert dump(ws) == before
    with pytest.raises(UnknownReservoir):
        ws.readings("Poondi")


def test_wide_upload_success_gives_one_upload_and_one_result_per_reservoir(ws: Workspace) -> None:
    wide = {name: frame(["2020-01-01", "2020-01-02"], level=[1, 2]) for name in ("A", "B", "C", "D")}
    results = ws.merge(wide, {}, UploadInfo("wide.csv", "sha-wide"))
    assert [r.reservoir for r in results] == ["A", "B", "C", "D"]
    assert len({r.upload_id for r in results}) == 1 and all(r.added == 2 for r in results)
    assert len(ws.uploads()) == 1 and len(ws.uploads("b")) == 1
    assert ws.uploads()[0]["counts"]["C"] == {"added": 2, "changed": 0, "unchanged": 0}


def test_bad_frames_are_refused_with_a_message(ws: Workspace) -> None:
    dup = frame(["2020-01-01", "2020-01-01"], level=[1, 2])
    with pytest.raises(StoreError, match="2020-01-01 appears more than once"):
        ws.merge({"A": dup}, {}, UploadInfo("d.csv", "d"))
    with pytest.raises(StoreError, match="infinite"):
        ws.merge({"A": frame(["2020-01-01"], level=[np.inf])}, {}, UploadInfo("i.csv", "i"))
    assert ws.reservoirs() == []


def test_upload_warnings_are_kept(ws: Workspace) -> None:
    warning = {"severity": "warning", "row": 3, "column": "level", "message": "spike"}
    ws.merge({"A": frame(["2020-01-01"], level=[1])}, {}, UploadInfo("w.csv", "w", warnings=(warning,), note="hi"))
    [upload] = ws.uploads("A")
    assert upload["warnings"] == [warning] and upload["note"] == "hi"


def test_variable_alias_resolution(poondi: Workspace) -> None:
    info = poondi.reservoir("Poondi")
    assert info.variable("storage").name == "storage"
    assert info.variable("STORAGE").name == "storage"
    assert info.variable("Storage_m3").name == "storage"
    assert info.variable("Level_m").name == "level"
    with pytest.raises(StoreError, match="level, storage"):
        info.variable("rainfall")
    assert list(poondi.readings("Poondi", ["Storage_m3"]).columns) == ["storage"]


def test_readings_follow_frame_convention(ws: Workspace) -> None:
    ws.merge({"A": frame(["2020-01-01", "2020-01-05"], level=[1, 2])}, {}, UploadInfo("1", "1"))
    ws.merge({"A": frame(["2020-01-03"], inflow=[7])}, {}, UploadInfo("2", "2"))
    out = ws.readings("A")
    assert list(out.columns) == ["level", "inflow"]  # stored order, not alphabetical
    assert out.index.name == "date" and out.index.tz is None and out.index.is_monotonic_increasing
    assert list(out.index.strftime("%Y-%m-%d")) == ["2020-01-01", "2020-01-03", "2020-01-05"]  # no calendar fill
    assert (out.dtypes == "float64").all() and np.isnan(out.loc["2020-01-03", "level"])
    window = ws.readings("A", ["inflow", "level"], start="2020-01-02", end="2020-01-05")
    assert list(window.columns) == ["level", "inflow"]
    assert list(window.index.strftime("%Y-%m-%d")) == ["2020-01-03", "2020-01-05"]
    only_inflow = ws.readings("A", ["inflow"])
    assert len(only_inflow) == 1
    empty = ws.readings("A", start="2030-01-01")
    assert empty.empty and list(empty.columns) == ["level", "inflow"]


def test_unknown_reservoir_lists_known_names(poondi: Workspace) -> None:
    with pytest.raises(UnknownReservoir, match="Known reservoirs: Poondi"):
        poondi.readings("Nowhere")
    assert isinstance(UnknownReservoir("x"), StoreError)


def test_meta_round_trip(poondi: Workspace) -> None:
    assert poondi.get_meta("Poondi", "capacity", 0) == 0
    poondi.set_meta("Poondi", "capacity", {"value": np.float64(3231.0), "unit": "mcft"})
    assert poondi.get_meta("poondi", "capacity") == {"value": 3231.0, "unit": "mcft"}
    poondi.set_meta("Poondi", "capacity", None)
    assert poondi.get_meta("Poondi", "capacity") is None
    with pytest.raises(StoreError, match="metadata 'when'.*Timestamp cannot be stored as JSON"):
        poondi.set_meta("Poondi", "when", pd.Timestamp("2020-01-01"))
    poondi.set_meta("Poondi", "spill", {"path": Path("a/b"), "nan": float("nan")})  # the one sanitiser: core.jsonio
    assert poondi.get_meta("Poondi", "spill") == {"path": "a/b", "nan": None}


def test_levels_round_trip_and_validation(poondi: Workspace) -> None:
    levels = [
        OperatingLevel("Flood danger", 13.5, "m", "flood", "danger"),
        OperatingLevel("Low water", 2.0, "m", "drought", "watch", variable="level"),
    ]
    poondi.set_levels("Poondi", levels)
    assert poondi.levels("Poondi") == levels
    with pytest.raises(LevelError, match="side"):
        poondi.set_levels("Poondi", [OperatingLevel("Bad", 1.0, "m", "sideways", "watch")])
    with pytest.raises(StoreError, match="Low water"):
        poondi.set_levels("Poondi", [levels[1], levels[1]])
    assert poondi.levels("Poondi") == levels  # a refused set leaves the old one
    poondi.set_levels("Poondi", [])
    assert poondi.levels("Poondi") == []


def test_model_versions(poondi: Workspace) -> None:
    with pytest.raises(StoreError, match="train a model first"):
        poondi.version("Poondi")
    assert poondi.active_version("Poondi") is None
    add_version(poondi, "Poondi", {"epochs": 3}, 0.5, activate=False)
    assert poondi.version("Poondi").version == 1  # the first model becomes active even if not asked
    add_version(poondi, "Poondi", {}, 0.4, activate=False)
    assert [m.active for m in poondi.versions("Poondi")] == [True, False]
    assert poondi.version("Poondi", 2).path == "models/r1/v2"  # stored relative to the workspace
    poondi.activate("Poondi", 2)
    assert [m.active for m in poondi.versions("Poondi")] == [False, True]
    assert poondi.active_version("poondi").version == 2
    with pytest.raises(StoreError, match="active"):
        poondi.delete_version("Poondi", 2)
    add_version(poondi, "Poondi", {}, float("nan"), activate=True)
    assert poondi.version("Poondi").version == 3 and poondi.version("Poondi", 3).val_mae is None
    poondi.delete_version("Poondi", 2)
    poondi.activate("Poondi", 1)
    poondi.delete_version("Poondi", 3)
    assert [m.version for m in poondi.versions("Poondi")] == [1]
    assert add_version(poondi, "Poondi").version == 4  # deleted numbers are never reused
    with pytest.raises(StoreError, match="known versions: 1, 4"):
        poondi.version("Poondi", 7)
    record = poondi.version("Poondi", 1)
    assert record.meta["epochs"] == 3 and record.meta["version"] == 1 and record.reservoir == "Poondi"
    assert ModelVersion.from_dict(record.to_dict(), "Poondi") == record


def test_delete_removes_the_version_folder_but_nothing_outside_models(poondi: Workspace) -> None:
    outside = poondi.root / "keep"
    outside.mkdir()
    add_version(poondi, "Poondi", activate=True)
    add_version(poondi, "Poondi")
    add_version(poondi, "Poondi")
    conn = sqlite3.connect(poondi.db_path)  # a row edited to point outside models/
    conn.execute("UPDATE model_versions SET path = 'keep' WHERE path = 'models/r1/v3'")
    conn.commit()
    conn.close()
    poondi.delete_version("Poondi", 3)
    assert outside.is_dir()  # a row pointing outside models/ loses its row, never the folder
    inside = poondi.models_dir / "r1" / "v2"
    assert inside.is_dir()
    poondi.delete_version("Poondi", 2)
    assert not inside.exists()


OLD_META = {  # a version saved before the zoo: no model name, no calibration, no timings
    "reservoir": "Poondi",
    "version": 1,
    "config": {"target": "level", "features": ["storage"], "epochs": 3},
    "data": {"range": ["2020-01-01", "2020-01-03"], "splits": {"test": ["2020-01-02", "2020-01-03"]}},
    "metrics": {"skill_vs_persistence": 0.1},
}


def test_version_rows_of_earlier_app_versions_still_load(poondi: Workspace) -> None:
    add_version(poondi, "Poondi", OLD_META, None, activate=True)
    add_version(poondi, "Poondi", {}, 0.3, activate=False)
    old, bare = poondi.versions("Poondi")
    assert (old.model, old.target, old.features) == ("", "level", ("storage",))
    assert old.data_range == ("2020-01-01", "2020-01-03")
    assert old.test_period == ("2020-01-02", "2020-01-03") and old.splits == {"test": ("2020-01-02", "2020-01-03")}
    assert (old.epochs_run, old.train_seconds, old.val_mae) == (None, None, None)
    assert ModelVersion.from_dict({"meta": OLD_META}).model_file == "model.keras"  # saved before meta named it
    assert (bare.target, bare.features, bare.data_range, bare.metrics, bare.config) == ("", (), None, {}, {})
    assert bare.test_period is None and bare.reservoir == "Poondi"
    assert beats_active(old, 0.1) is False  # an active version without a score is not replaced by the rule
    assert beats_active(bare, 0.2) and not beats_active(bare, 0.3) and beats_active(None, float("inf"))


def test_second_job_refused_while_one_is_running(poondi: Workspace) -> None:
    first = poondi.create_job("Poondi", "train", {"epochs": 5})
    poondi.update_job(first, status="running", pid=os.getpid())
    with pytest.raises(StoreError, match=f"#{first}"):
        poondi.create_job("poondi", "train", {})
    poondi.update_job(first, status="done", result={"version": 1, "mae": np.float32(0.25)})
    job = poondi.job(first)
    assert isinstance(job, Job) and not job.active
    assert job.status == "done" and job.started and job.finished
    assert job.result == {"version": 1, "mae": 0.25} and job.params == {"epochs": 5}
    second = poondi.create_job("Poondi", "train", {})
    assert second != first
    assert [j.id for j in poondi.jobs("Poondi", active_only=True)] == [second]
    assert [j.id for j in poondi.jobs()] == [second, first]
    assert poondi.jobs()[0].active and poondi.jobs()[0].to_dict()["progress"] is None


def test_epochs_recorded_in_order_and_stop_flag(poondi: Workspace) -> None:
    job_id = poondi.create_job("Poondi", "train", {})
    for epoch in (2, 0, 1):
        poondi.add_epoch(job_id, epoch, {"loss": 1.0 / (epoch + 1), "val_loss": np.float64(0.5)}, 0.1, 3)
    epochs = poondi.job(job_id).epochs
    assert [e.epoch for e in epochs] == [0, 1, 2]
    assert epochs[1].logs == {"loss": 0.5, "val_loss": 0.5} and epochs[0].total_epochs == 3
    assert epochs[1].to_dict()["logs"] == {"loss": 0.5, "val_loss": 0.5}
    assert not poondi.stop_requested(job_id)
    poondi.request_stop(job_id)
    assert poondi.stop_requested(job_id) and poondi.job(job_id).stop_requested
    with pytest.raises(StoreError, match="no job #999"):
        poondi.update_job(999, status="running")
    with pytest.raises(StoreError, match="status"):
        poondi.update_job(job_id, status="exploded")


def test_comparison_progress_is_stored_with_the_job(poondi: Workspace) -> None:
    job_id = poondi.create_job("Poondi", "compare", {"models": ["ridge", "lstm"]})
    assert poondi.job(job_id).progress is None
    poondi.update_job(job_id, message="model 2 of 2: lstm", progress=JobProgress(1, 2, "lstm"))
    job = poondi.job(job_id)
    assert job.progress == JobProgress(index=1, total=2, model="lstm") and job.message == "model 2 of 2: lstm"
    assert JobProgress.from_dict({"index": 1}) is None and JobProgress.from_dict(None) is None


def test_version_1_database_is_upgraded_and_its_job_rows_load(tmp_path: Path) -> None:
    """A workspace written before job progress existed: the column is added and old rows read as no progress."""
    ws = Workspace(tmp_path / "ws")
    ws.merge({"B": frame(["2020-01-01"], level=[1])}, {}, UploadInfo("b", "b"))
    conn = sqlite3.connect(ws.db_path)
    conn.execute("ALTER TABLE jobs DROP COLUMN progress")
    conn.execute("UPDATE schema_version SET version = 1")
    conn.execute(
        "INSERT INTO jobs(reservoir_id, kind, status, params, created, message) "
        "VALUES (1, 'compare', 'done', '{}', '2020-01-01T00:00:00Z', 'model 1 of 3: ridge')"
    )
    conn.commit()
    conn.close()
    upgraded = Workspace(ws.root)
    assert upgraded.db.schema_version() == SCHEMA_VERSION  # upgraded through every migration
    [job] = upgraded.jobs("B")
    assert (job.progress, job.params, job.config, job.result, job.epochs) == (None, {}, {}, None, ())
    upgraded.update_job(job.id, progress=JobProgress(0, 3, "ridge"))
    assert upgraded.job(job.id).progress == JobProgress(0, 3, "ridge")


def test_mark_interrupted_on_dead_pid(poondi: Workspace, tmp_path: Path) -> None:
    other = Workspace(tmp_path / "other")
    other.merge({"B": frame(["2020-01-01"], level=[1])}, {}, UploadInfo("b", "b"))
    dead = poondi.create_job("Poondi", "train", {})
    poondi.update_job(dead, status="running", pid=DEAD_PID)
    alive = other.create_job("B", "train", {})
    other.update_job(alive, status="running", pid=os.getpid())
    assert poondi.mark_interrupted() == 1
    assert other.mark_interrupted() == 0
    job = poondi.job(dead)
    assert job.status == "interrupted" and job.finished and "start it again" in job.message
    assert other.job(alive).status == "running"
    # a dead job never blocks new work: create_job clears it itself
    again = poondi.create_job("Poondi", "train", {})
    poondi.update_job(again, status="running", pid=DEAD_PID)
    assert poondi.create_job("Poondi", "train", {}) > again


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="zombie detection reads /proc (Linux)")
def test_finished_child_that_nobody_reaped_counts_as_dead() -> None:
    """The app launches training with Popen and never waits, so a finished trainer lingers as a zombie."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.time() + 20
    while pid_alive(proc.pid) and time.time() < deadline:
        time.sleep(0.05)
    assert not pid_alive(proc.pid)
    assert pid_alive(os.getpid()) and not pid_alive(DEAD_PID) and not pid_alive(None)
    proc.wait()


def test_queued_job_without_pid_is_not_interrupted_at_once(poondi: Workspace) -> None:
    job_id = poondi.create_job("Poondi", "train", {})
    assert poondi.mark_interrupted() == 0
    assert poondi.job(job_id).status == "queued"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    conn = sqlite3.connect(ws.db_path)
    conn.execute("UPDATE schema_version SET version = 999")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Workspace(tmp_path / "ws")


def test_not_a_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "sentinel.db").write_text("this is not sqlite " * 100)
    with pytest.raises(StoreError, match="another workspace folder"):
        Workspace(tmp_path / "ws")


_WRITER = """
import sys, time
import numpy as np, pandas as pd
from core.store.workspace import UploadInfo, Workspace
ws = Workspace(sys.argv[1])
job = int(sys.argv[2])
print("ready", flush=True)
end = time.time() + float(sys.argv[3])
i = 0
while time.time() < end:
    day = pd.DatetimeIndex([pd.Timestamp("2001-01-01") + pd.Timedelta(days=i)], name="date")
    ws.merge({"B": pd.DataFrame({"level": [float(i)]}, index=day)}, {}, UploadInfo(f"b{i}", f"b{i}"))
    ws.add_epoch(job, i, {"loss": float(i)}, 0.01, 10**6)
    ws.stop_requested(job)
    i += 1
print(i, flush=True)
"""


@pytest.mark.slow
def test_two_processes_write_and_read_at_once(ws: Workspace) -> None:
    ws.merge({"B": frame(["2000-01-01"], level=[0])}, {}, UploadInfo("seed", "seed"))
    job = ws.create_job("B", "train", {})
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(ws.root), str(job), "1.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    other = Workspace(ws.root)
    end = time.time() + 1.5
    i = 0
    while time.time() < end:
        day = pd.Timestamp("2001-01-01") + pd.Timedelta(days=i)
        other.merge({"A": frame([str(day.date())], level=[float(i)])}, {}, UploadInfo(f"a{i}", f"a{i}"))
        ws.readings("B")
        ws.job(job)
        i += 1
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    written = int(out.strip())
    assert written > 0 and i > 0
    assert len(ws.readings("A")) == i
    assert len(ws.readings("B")) == written + 1
    assert len(ws.job(job).epochs) == written


def test_two_workspace_objects_in_threads(ws: Workspace) -> None:
    errors: list[BaseException] = []

    def work(name: str) -> None:
        mine = Workspace(ws.root)
        try:
            for i in range(30):
                day = str((pd.Timestamp("2010-01-01") + pd.Timedelta(days=i)).date())
                mine.merge({name: frame([day], level=[float(i)])}, {}, UploadInfo(f"{name}{i}", f"{name}{i}"))
                mine.reservoirs()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in ("X", "Y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [len(ws.readings(n)) for n in ("X", "Y")] == [30, 30]


def test_a_checkpoint_removing_the_log_mid_look_is_no_read_error(tmp_path: Path, monkeypatch) -> None:
    """Another process's checkpoint removes ``-wal`` at any moment (CI saw a plain read fail on it): never an error."""
    from core.store.sqlite.database import SqliteDatabase

    db = SqliteDatabase(tmp_path / "ws")
    monkeypatch.setattr(SqliteDatabase, "read_only", property(lambda self: True))
    wal = Path(f"{db.db_path}-wal")
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            wal.write_bytes(b"page")
            wal.unlink()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads between any two looks as often as the interpreter can
    thread = threading.Thread(target=churn)
    thread.start()
    try:
        uris = {db._uri(write=False) for _ in range(20000)}
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
    assert uris <= {f"file:{db.db_path}?mode=ro&immutable=1", f"file:{db.db_path}?mode=ro"}
