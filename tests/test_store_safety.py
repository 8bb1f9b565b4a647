"""Nothing lost: overlapping saves and trainings, kill -9 during saves, damaged databases, full or read-only disks,
backup and restore (issue 13 items 1 and 2)."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import multiprocessing
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.app import pipeline
from core.cli.main import main as cli_main
from core.data.sample import SAMPLE_NAME
from core.model.config import ModelConfig, TrainConfig
from core.store.backup import backup, restore
from core.store.errors import StorageFailure, WorkspaceDamaged
from core.store.locks import TrainingLocked
from core.store.repair import repair
from core.store.workspace import StoreError, UploadInfo, Workspace
from tests.store_support import add_version

REPO = Path(__file__).resolve().parents[1]
FAST = TrainConfig(target="level", features=("rainfall", "inflow"), model=ModelConfig(name="persistence"))
FORK = multiprocessing.get_context("fork") if sys.platform.startswith("linux") else None
needs_fork = pytest.mark.skipif(FORK is None, reason="forked children share the trained result without pickling")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """The sample reservoir with one quick (persistence) version, built once; tests work on copies."""
    root = tmp_path_factory.mktemp("safety") / "ws"
    ws = Workspace(root)
    pipeline.add_sample(ws)
    outcome = pipeline.train_reservoir(ws, SAMPLE_NAME, FAST)
    return root, outcome.result


@pytest.fixture()
def ws(template: tuple[Path, object], tmp_path: Path) -> Workspace:
    """A private copy of the template workspace."""
    shutil.copytree(template[0], tmp_path / "ws")
    return Workspace(tmp_path / "ws")


def sha(path: Path) -> str:
    """File digest, as the store records it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_every_version_sound(ws: Workspace) -> None:
    """Each row's folder exists, its model file matches the recorded sha256, it loads; the active one forecasts."""
    versions = ws.versions(SAMPLE_NAME)
    assert sum(v.active for v in versions) == 1
    for v in versions:
        assert sha(ws.root / v.path / v.model_file) == v.sha256, v.path
        assert json.loads((ws.root / v.path / "meta.json").read_text())["version"] == v.version
        assert ws.load_version(SAMPLE_NAME, v.version).version == v.version
    assert pipeline.forecast_reservoir(ws, SAMPLE_NAME).points


def integrity(ws: Workspace) -> str:
    """PRAGMA integrity_check of the workspace database."""
    conn = sqlite3.connect(ws.db_path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def prewritten(ws: Workspace) -> tuple[Path, dict]:
    """A temp folder holding a copy of version 1's files, ready for adopt_folder."""
    src = ws.root / ws.version(SAMPLE_NAME, 1).path
    tmp = ws.new_tmp_folder(SAMPLE_NAME)
    for f in src.iterdir():
        shutil.copy(f, tmp / f.name)
    return tmp, json.loads((tmp / "meta.json").read_text())


# ---------------------------------------------------------------- no lost versions


def test_eight_overlapping_adopts_get_eight_distinct_versions(ws: Workspace) -> None:
    folders = [prewritten(ws) for _ in range(8)]
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def adopt(tmp: Path, meta: dict) -> None:
        mine = Workspace(ws.root)
        start.wait()
        try:
            mine.adopt_folder(SAMPLE_NAME, tmp, meta, meta["val_mae"], None)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=adopt, args=f) for f in folders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert [v.version for v in ws.versions(SAMPLE_NAME)] == list(range(1, 10))
    assert ws.active_version(SAMPLE_NAME).version == 1  # equal scores never replace the active version
    assert_every_version_sound(ws)
    assert not list((ws.models_dir / "r1").glob(".tmp-*"))


def _save_once(root: str, result: object, start: object) -> None:
    """A forked child: wait for the others, then save one version."""
    ws = Workspace(root)
    start.wait()  # type: ignore[attr-defined]
    ws.save_version(SAMPLE_NAME, result, activate=None)  # type: ignore[arg-type]


@needs_fork
def test_eight_overlapping_saves_in_processes(ws: Workspace, template: tuple[Path, object]) -> None:
    start = FORK.Barrier(8)
    procs = [FORK.Process(target=_save_once, args=(str(ws.root), template[1], start)) for _ in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * 8
    assert [v.version for v in ws.versions(SAMPLE_NAME)] == list(range(1, 10))
    assert_every_version_sound(ws)


def test_unknown_folder_in_the_way_is_quarantined_not_deleted(ws: Workspace, caplog: pytest.LogCaptureFixture) -> None:
    stray = ws.models_dir / "r1" / "v2"  # left by a crash between rename and registration in an older app
    stray.mkdir()
    (stray / "model.json").write_text("precious")
    tmp, meta = prewritten(ws)
    with caplog.at_level(logging.WARNING, logger="core.store.versions"):
        record = ws.adopt_folder(SAMPLE_NAME, tmp, meta, None, False)
    assert record.version == 2 and not record.active
    kept = list((ws.models_dir / "r1" / "quarantine").glob("v2-*"))
    assert len(kept) == 1 and (kept[0] / "model.json").read_text() == "precious"
    assert "quarantine" in caplog.text and "Nothing was deleted" in caplog.text
    assert_every_version_sound(ws)


def test_leftovers_of_killed_saves_are_swept_when_a_writer_starts(
    ws: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    """Opening to read leaves them (reads never write); the first write of a writer sweeps them."""
    old_tmp = ws.models_dir / "r1" / ".tmp-dead"
    old_tmp.mkdir()
    os.utime(old_tmp, (1, 1))  # long ago
    young_tmp = ws.models_dir / "r1" / ".tmp-busy"  # a save at work right now: kept
    young_tmp.mkdir()
    unregistered = ws.models_dir / "r1" / "v7"
    unregistered.mkdir()
    (unregistered / "meta.json").write_text("{}")
    reader = Workspace(ws.root)
    reader.versions(SAMPLE_NAME)
    assert old_tmp.exists() and unregistered.exists()  # a reader changed nothing
    with caplog.at_level(logging.WARNING, logger="core.registry.layout"):
        reader.set_meta(SAMPLE_NAME, "capacity", 100.0)  # a writer starts
    assert not old_tmp.exists() and young_tmp.exists() and not unregistered.exists()
    assert len(list((ws.models_dir / "r1" / "quarantine").glob("v7-*"))) == 1
    assert "interrupted" in caplog.text and "no model version row" in caplog.text
    assert ws.clean_leftovers(older_than_s=0).removed == ("models/r1/.tmp-busy",)
    assert_every_version_sound(ws)


@pytest.mark.slow
def test_two_overlapping_trainings_one_is_refused(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    real_fit, inside, release = pipeline.fit, threading.Event(), threading.Event()

    def slow_fit(*args: object, **kwargs: object) -> object:
        inside.set()
        assert release.wait(60)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(pipeline, "fit", slow_fit)  # the name train_reservoir calls
    first: list[object] = []
    worker = threading.Thread(target=lambda: first.append(pipeline.train_reservoir(ws, SAMPLE_NAME, FAST)))
    worker.start()
    assert inside.wait(60)
    try:
        with pytest.raises(TrainingLocked, match=rf"already being trained \(by pid {os.getpid()} since .*Train page"):
            pipeline.train_reservoir(Workspace(ws.root), "sample reservoir", FAST)
        from core.app import jobs

        monkeypatch.setattr(jobs, "_launch", lambda *_: pytest.fail("a job must not start during a training"))
        with pytest.raises(TrainingLocked, match="already being trained"):
            jobs.start_training(ws, SAMPLE_NAME, FAST)
        assert ws.jobs(SAMPLE_NAME) == []
    finally:
        release.set()
        worker.join(60)
    assert first[0].record.version == 2  # type: ignore[attr-defined]
    assert ws.training_holder(SAMPLE_NAME) is None
    assert pipeline.train_reservoir(ws, SAMPLE_NAME, FAST).record.version == 3  # the lock went with the first


_HOLDER = """
import sys, time
from core.store.workspace import Workspace
ws = Workspace(sys.argv[1])
with ws.training_lock(sys.argv[2]):
    print("held", flush=True)
    time.sleep(120)
"""


def test_training_lock_held_by_another_process_is_freed_by_kill(ws: Workspace) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(ws.root), SAMPLE_NAME], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        with pytest.raises(TrainingLocked, match=f"by pid {proc.pid} since"):
            pipeline.train_reservoir(ws, SAMPLE_NAME, FAST)
        assert ws.training_holder(SAMPLE_NAME).pid == proc.pid
    finally:
        proc.kill()
        proc.wait(30)
    assert ws.training_holder(SAMPLE_NAME) is None  # the OS dropped the lock with the process
    assert pipeline.train_reservoir(ws, SAMPLE_NAME, FAST).record.version == 2


def _save_forever(root: str, result: object, ready: object) -> None:
    """A forked child: save versions until killed."""
    ws = Workspace(root)
    while True:
        ws.save_version(SAMPLE_NAME, result, activate=None)  # type: ignore[arg-type]
        ready.set()  # type: ignore[attr-defined]


@pytest.mark.slow
@needs_fork
def test_kill_9_during_saves_loses_nothing(ws: Workspace, template: tuple[Path, object]) -> None:
    rng = random.Random(13)
    folder = ws.models_dir / "r1"
    for _ in range(10):
        ready = FORK.Event()
        child = FORK.Process(target=_save_forever, args=(str(ws.root), template[1], ready))
        child.start()
        assert ready.wait(60)
        threading.Event().wait(rng.uniform(0.0, 0.25))
        os.kill(child.pid, signal.SIGKILL)
        child.join(30)
        assert integrity(ws) == "ok"
        reopened = Workspace(ws.root)
        reopened.clean_leftovers(older_than_s=0)  # version folders a killed save left without a row, temp folders
        assert not list(folder.glob(".tmp-*"))
        rows = {v.path for v in reopened.versions(SAMPLE_NAME)}
        assert {f"models/r1/{p.name}" for p in folder.glob("v*")} == rows
        for v in reopened.versions(SAMPLE_NAME):
            assert sha(ws.root / v.path / v.model_file) == v.sha256
    versions = [v.version for v in ws.versions(SAMPLE_NAME)]
    assert len(versions) > 10 and versions == sorted(set(versions))
    assert_every_version_sound(ws)


# ---------------------------------------------------------------- damaged workspaces


def test_zero_byte_database_beside_versions_is_refused_then_repaired(
    ws: Workspace, capsys: pytest.CaptureFixture
) -> None:
    pipeline.train_reservoir(ws, SAMPLE_NAME, FAST)
    ws.db_path.write_bytes(b"")
    for side in ("-wal", "-shm"):
        Path(f"{ws.db_path}{side}").unlink(missing_ok=True)
    with pytest.raises(WorkspaceDamaged) as refused:
        Workspace(ws.root)
    text = str(refused.value)
    assert "is empty (0 bytes)" in text and "2 saved model version folders (Sample Reservoir: v1, v2)" in text
    assert "python -m core restore FILE" in text and "python -m core repair" in text and "re-import" in text
    assert ws.db_path.stat().st_size == 0  # refused, not started afresh
    assert cli_main(["--workspace", str(ws.root), "repair"]) == 0
    out = capsys.readouterr().out
    assert "Sample Reservoir: v1, v2 (active: v" in out and "re-import the CSV files" in out
    aside = list(ws.root.glob("sentinel.db.damaged-*"))
    assert len(aside) == 1 and aside[0].stat().st_size == 0  # the damaged file kept, never overwritten
    repaired = Workspace(ws.root)
    assert [v.version for v in repaired.versions(SAMPLE_NAME)] == [1, 2]
    assert repaired.load_version(SAMPLE_NAME, 2).version == 2
    assert add_version(repaired, SAMPLE_NAME).version == 3
    pipeline.add_sample(repaired)  # the operator re-imports the readings: forecasts work again
    assert pipeline.forecast_reservoir(repaired, SAMPLE_NAME).points


def test_missing_database_beside_versions_is_refused(ws: Workspace) -> None:
    ws.db_path.unlink()
    with pytest.raises(
        WorkspaceDamaged, match=r"is missing, but .* 1 saved model version folder \(Sample Reservoir: v1\)"
    ):
        Workspace(ws.root)
    assert not ws.db_path.exists()


def test_malformed_database_gets_restore_or_repair_advice(ws: Workspace) -> None:
    data = bytearray(ws.db_path.read_bytes())
    data[100:4000] = bytes(random.Random(1).randrange(256) for _ in range(3900))  # the schema page
    ws.db_path.write_bytes(bytes(data))
    with pytest.raises(WorkspaceDamaged, match="malformed.*python -m core repair") as refused:
        Workspace(ws.root)
    assert "Sample Reservoir: v1" in str(refused.value)
    result = repair(ws.root)
    assert "malformed" in result.state and result.reservoirs[0].versions == (1,)
    assert list(ws.root.glob("sentinel.db.damaged-*"))[0].read_bytes() == bytes(data)
    assert Workspace(ws.root).load_version(SAMPLE_NAME).version == 1


def test_sound_database_is_not_repaired(ws: Workspace) -> None:
    before = ws.db_path.read_bytes()
    assert repair(ws.root).state == "healthy"
    assert ws.db_path.read_bytes() == before and not list(ws.root.glob("*.damaged-*"))


def test_not_a_database_beside_versions_names_them(ws: Workspace) -> None:
    ws.db_path.write_text("this is not sqlite " * 100)
    with pytest.raises(WorkspaceDamaged, match="another workspace folder.*Sample Reservoir: v1.*repair"):
        Workspace(ws.root)


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make a folder or file read-only for this process: chmod, or as root (chmod ignored) a read-only bind mount."""
    if os.name != "posix":
        pytest.skip("read-only folders are tested on POSIX")
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    bind = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True, text=True)
    if bind.returncode:
        pytest.skip(f"running as root, chmod cannot make {path} read-only and bind mounts fail: {bind.stderr.strip()}")
    try:
        ro = subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], capture_output=True, text=True)
        if ro.returncode:
            pytest.skip(f"cannot remount {path} read-only: {ro.stderr.strip()}")
        yield
    finally:
        subprocess.run(["umount", str(path)], capture_output=True)


def test_read_only_folder_reads_and_refuses_writes_with_its_own_message(ws: Workspace, tmp_path: Path) -> None:
    """On a read-only folder the workspace opens and reads (reads never write); a write is refused in words."""
    before = sha(ws.db_path)
    with read_only(ws.root):
        reader = Workspace(ws.root)
        assert [v.version for v in reader.versions(SAMPLE_NAME)] == [1] and reader.read_only
        with pytest.raises(StorageFailure, match="read-only.*cannot be created or written"):
            reader.set_meta(SAMPLE_NAME, "capacity", 1.0)
    assert sha(ws.db_path) == before
    empty = tmp_path / "empty"
    empty.mkdir()
    with read_only(empty), pytest.raises(StorageFailure, match="Cannot create the workspace folder|read-only"):
        Workspace(empty)


def test_stale_unwritable_shm_is_named(ws: Workspace) -> None:
    shm = Path(f"{ws.db_path}-shm")
    shm.write_bytes(b"\0" * 32768)
    with read_only(shm), pytest.raises(StorageFailure, match="sentinel.db-shm is stale or not writable"):
        Workspace(ws.root).set_meta(SAMPLE_NAME, "capacity", 1.0)
    assert len(Workspace(ws.root).versions(SAMPLE_NAME)) == 1


def _frame(n: int, start: str) -> dict[str, pd.DataFrame]:
    """n daily levels of reservoir A."""
    index = pd.DatetimeIndex(pd.date_range(start, periods=n), name="date")
    return {"A": pd.DataFrame({"level": np.arange(n, dtype=float)}, index=index)}


@contextmanager
def small_tmpfs(path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs at path (needs root; skipped otherwise)."""
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; the file-size-limit test covers the disk-full path")
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path)], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_disk_full_is_named_and_loses_nothing(tmp_path: Path, template: tuple[Path, object]) -> None:
    with small_tmpfs(tmp_path / "small") as disk:
        ws = Workspace(disk / "ws")
        ws.merge(_frame(100, "1990-01-01"), {}, UploadInfo("a.csv", "a"))
        ws.merge({SAMPLE_NAME: _frame(30, "1990-01-01")["A"]}, {}, UploadInfo("s.csv", "s"))
        with open(disk / "filler", "wb") as fh, pytest.raises(OSError):
            while True:
                fh.write(b"x" * 65536)
                fh.flush()
        with pytest.raises(StorageFailure, match="is full.*nothing already stored was lost"):
            ws.merge(_frame(5000, "2001-01-01"), {}, UploadInfo("b.csv", "b"))
        with pytest.raises(StorageFailure, match="is full"):
            ws.save_version(SAMPLE_NAME, template[1])  # type: ignore[arg-type]
        (disk / "filler").unlink()
        assert integrity(ws) == "ok" and len(ws.readings("A")) == 100
        assert ws.versions(SAMPLE_NAME) == [] and not list((ws.models_dir).glob("r*/.tmp-*"))


_FSIZE = """
import resource, signal, sys
import numpy as np, pandas as pd
from core.store.workspace import StoreError, UploadInfo, Workspace
ws = Workspace(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (ws.db_path.stat().st_size + 8192, resource.RLIM_INFINITY))
index = pd.DatetimeIndex(pd.date_range("2001-01-01", periods=20000), name="date")
try:
    ws.merge({"A": pd.DataFrame({"level": np.arange(20000.0)}, index=index)}, {}, UploadInfo("big", "big"))
except StoreError as exc:
    print(type(exc).__name__, exc)
"""


@pytest.mark.skipif(os.name != "posix", reason="RLIMIT_FSIZE is POSIX")
def test_file_size_limit_is_named_and_loses_nothing(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    ws.merge(_frame(100, "1990-01-01"), {}, UploadInfo("a.csv", "a"))
    done = subprocess.run(
        [sys.executable, "-c", _FSIZE, str(ws.root)], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert done.stdout.startswith("StorageFailure") and "ulimit -f" in done.stdout, done.stdout + done.stderr
    assert integrity(ws) == "ok" and len(ws.readings("A")) == 100


# ---------------------------------------------------------------- backup and restore


@pytest.mark.slow
def test_backup_restore_round_trip_forecasts_the_same(ws: Workspace, tmp_path: Path) -> None:
    ridge = TrainConfig(target="level", features=("rainfall", "inflow"), model=ModelConfig(name="ridge"))
    pipeline.train_reservoir(ws, SAMPLE_NAME, ridge)
    made = backup(ws.root, ws.db_path, tmp_path)
    assert made.versions == 2 and made.reservoirs == 1 and made.missing == ()
    with tarfile.open(made.path) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert [v["path"] for v in manifest["versions"]] == ["models/r1/v1", "models/r1/v2"]
    assert manifest["versions"][1]["files"]["model.json"] == sha(ws.root / "models/r1/v2/model.json")
    assert not list(tmp_path.glob(".*tmp*"))  # written atomically: no temp file left beside it
    restored = restore(Path(made.path), tmp_path / "copy")
    again = Workspace(restored.workspace)
    a, b = pipeline.forecast_reservoir(ws, SAMPLE_NAME), pipeline.forecast_reservoir(again, SAMPLE_NAME)
    assert (a.version, a.issued) == (b.version, b.issued) and a.points == b.points
    assert again.readings(SAMPLE_NAME).equals(ws.readings(SAMPLE_NAME))
    with pytest.raises(StoreError, match="already holds a workspace.*--force"):
        restore(Path(made.path), tmp_path / "copy")
    forced = restore(Path(made.path), tmp_path / "copy", force=True)
    assert any(".replaced-" in p for p in forced.moved_aside)
    assert all(Path(p).exists() for p in forced.moved_aside)


def test_restore_refuses_a_tampered_backup(ws: Workspace, tmp_path: Path) -> None:
    made = Path(backup(ws.root, ws.db_path, tmp_path / "b.tar.gz").path)
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(made) as src, tarfile.open(bad, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member) if member.isfile() else None
            if member.name.endswith("v1/model.json"):
                payload = b'{"tampered": true}'
                member.size = len(payload)
                data = io.BytesIO(payload)
            dst.addfile(member, data)
    with pytest.raises(StoreError, match="checksums do not match for models/r1/v1/model.json"):
        restore(bad, tmp_path / "target")
    assert not (tmp_path / "target" / "sentinel.db").exists()


def test_cli_backup_and_restore(ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "nightly.tar.gz"
    assert cli_main(["--workspace", str(ws.root), "backup", "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["versions"] == 1
    assert cli_main(["restore", str(out), "--workspace", str(tmp_path / "new")]) == 0
    assert "1 model versions" in capsys.readouterr().out
    assert cli_main(["restore", str(out), "--workspace", str(tmp_path / "new")]) == 2
    assert "already holds a workspace" in capsys.readouterr().err
