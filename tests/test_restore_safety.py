"""Backup and restore under faults (issue 19, items 5, 12, 13, 14): restore cannot race a writer and a kill cannot
leave nothing; killed backups and restores leave nothing that piles up; a full disk is named; restore only puts in
place what the manifest lists and verifies."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from core.app import pipeline
from core.cli.main import main as cli_main
from core.data.sample import SAMPLE_NAME
from core.model.config import ModelConfig, TrainConfig
from core.store import inuse
from core.store.backup import backup, restore
from core.store.workspace import StoreError, Workspace, WorkspaceInUse

REPO = Path(__file__).resolve().parents[1]
FAST = TrainConfig(target="level", features=("rainfall", "inflow"), model=ModelConfig(name="persistence"))
DEAD_PID = 2**31 - 1  # above any kernel pid_max: no process has it


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A workspace (the sample, one quick version) and a backup of it, built once."""
    base = tmp_path_factory.mktemp("restore")
    ws = Workspace(base / "ws")
    pipeline.add_sample(ws)
    pipeline.train_reservoir(ws, SAMPLE_NAME, FAST)
    return ws.root, Path(backup(ws.root, ws.db_path, base / "nightly.tar.gz").path)


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another workspace (reservoir 'Other' with a version of its own), built once."""
    from core.data.sample import make_sample

    ws = Workspace(tmp_path_factory.mktemp("other") / "ws")
    frame = make_sample().frame.loc["2022-01-01":].rename_axis("date").reset_index()
    pipeline.import_csv(ws, frame.to_csv(index=False).encode(), reservoir="Other", filename="other.csv")
    pipeline.train_reservoir(ws, "Other", FAST)
    return ws.root


@pytest.fixture()
def target(other: Path, tmp_path: Path) -> Workspace:
    """A private copy of the other workspace, which a restore --force replaces."""
    shutil.copytree(other, tmp_path / "target")
    return Workspace(tmp_path / "target")


def run_py(code: str, *args: str) -> subprocess.Popen:
    """A Python process in the repository (stdout piped), for kills at a chosen moment."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    pipe = subprocess.PIPE
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=REPO, env=env, stdout=pipe, stderr=pipe, text=True)


# ---------------------------------------------------------------- item 5: restore cannot race


@pytest.mark.slow
def test_restore_is_refused_while_a_training_or_the_cycle_runs(made, target: Workspace) -> None:
    """A running training (or cycle) holds the workspace: restore --force is refused naming it; nothing moved."""
    with target.in_use("training of 'Other'"), pytest.raises(StoreError, match=r"in use: training of 'Other' \(pid"):
        restore(made[1], target.root, force=True)
    with target.in_use("the daily cycle"), pytest.raises(StoreError, match="the daily cycle"):
        restore(made[1], target.root, force=True)
    assert not list(target.root.glob("*.replaced-*")) and [r.name for r in target.reservoirs()] == ["Other"]


def test_restore_takes_every_training_lock(made, target: Workspace, tmp_path: Path) -> None:
    """A training in another process (holding its reservoir's training lock) refuses the restore with its pid."""
    script = (
        "import sys, time\nfrom core.store.workspace import Workspace\nws = Workspace(sys.argv[1])\n"
        "with ws.training_lock('Other'):\n    print('ready', flush=True)\n    time.sleep(60)\n"
    )
    proc = run_py(script, str(target.root))
    try:
        assert proc.stdout.readline().strip() == "ready"
        with pytest.raises(StoreError, match=rf"training of 'Other' \(pid {proc.pid} "):
            restore(made[1], target.root, force=True)
    finally:
        proc.kill()
        proc.wait()
    assert [r.name for r in target.reservoirs()] == ["Other"]
    restore(made[1], target.root, force=True)  # the training ended: now it goes ahead
    assert [r.name for r in Workspace(target.root).reservoirs()] == [SAMPLE_NAME]


def test_nothing_starts_a_training_while_a_restore_holds_the_workspace(target: Workspace) -> None:
    """A training starting during a restore is refused (it would write into files about to be replaced)."""
    refused = pytest.raises(WorkspaceInUse, match="being restored or repaired")
    with inuse.exclusive(target.root, "restore"), refused, target.training_lock("Other"):
        pass


_KILL_AT = """
import os, pathlib, sys
from core.store.backup import restore
limit, calls = int(sys.argv[3]), [0]
def counted(real):
    def move(*args, **kw):
        out = real(*args, **kw)
        calls[0] += 1
        if calls[0] == limit:
            os._exit(9)  # killed right after this rename
        return out
    return move
pathlib.Path.rename = counted(pathlib.Path.rename)
os.replace = counted(os.replace)
restore(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), force=True)
"""


@pytest.mark.parametrize("kill_after", range(1, 7))
def test_a_restore_killed_after_any_rename_is_finished_at_the_next_open(made, target: Workspace, kill_after) -> None:
    """Whichever rename the kill follows, the next open gives the restored workspace, never an empty one, and keeps
    what it replaced."""
    done = run_py(_KILL_AT, str(made[1]), str(target.root), str(kill_after))
    done.communicate(timeout=120)
    assert done.returncode in (0, 9)
    reopened = Workspace(target.root)
    assert [r.name for r in reopened.reservoirs()] == [SAMPLE_NAME]
    assert reopened.readings(SAMPLE_NAME).equals(Workspace(made[0]).readings(SAMPLE_NAME))
    assert pipeline.forecast_reservoir(reopened, SAMPLE_NAME).points  # its version loads and forecasts
    aside = sorted(p.name.split(".replaced-")[0] for p in target.root.glob("*.replaced-*"))
    assert "sentinel.db" in aside and "models" in aside  # what it replaced is kept
    leftovers = [p.name for p in target.root.iterdir() if p.name.startswith(".restore")]
    assert leftovers == []


# ---------------------------------------------------------------- item 12: nothing piles up


_SLOW_BACKUP = """
import sys, tarfile, time
from pathlib import Path
from core.store.backup import backup
real_close = tarfile.TarFile.close
def hold(self):
    print("writing", flush=True)
    time.sleep(60)
    real_close(self)
tarfile.TarFile.close = hold
backup(Path(sys.argv[1]), Path(sys.argv[1]) / "sentinel.db", Path(sys.argv[2]))
"""


def test_a_killed_backup_leaves_nothing_after_the_next_backup(made, tmp_path: Path) -> None:
    """kill -9 while the archive is written leaves its database copy and temp archive; the next backup removes
    them (a live backup's files are never touched)."""
    out = tmp_path / "backups"
    out.mkdir()
    proc = run_py(_SLOW_BACKUP, str(made[0]), str(out))
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = sorted(p.name for p in out.iterdir())
    assert any(n.startswith(".sentinel-backup-") for n in left) and any(".tmp-" in n for n in left), left
    live = out / f".sentinel-backup-{os.getpid()}-abcdef"  # this process is alive: its folder stays
    live.mkdir()
    made_now = backup(made[0], made[0] / "sentinel.db", out)
    assert sorted(p.name for p in out.iterdir()) == sorted([Path(made_now.path).name, live.name])


def test_leftovers_of_a_killed_restore_are_removed_at_the_next_restore(made, tmp_path: Path) -> None:
    """A staging folder of a restore killed before its swap (no journal) is removed by the next restore."""
    root = tmp_path / "new"
    root.mkdir()
    (root / f".restore-{DEAD_PID}-abcdef").mkdir()
    (root / f".restore-{DEAD_PID}-abcdef" / "sentinel.db").write_bytes(b"half")
    restore(made[1], root)
    assert [p.name for p in root.iterdir() if p.name.startswith(".restore")] == []


# ---------------------------------------------------------------- item 13: a full disk is named


def test_backup_on_a_full_disk_is_named_and_leaves_nothing(made, tmp_path: Path, capsys) -> None:
    """The backup's folder is full: one line saying so (not 'unexpected OperationalError'), no half files."""
    from tests.test_store_safety import small_tmpfs

    with small_tmpfs(tmp_path / "small") as disk:
        with open(disk / "filler", "wb") as fh, pytest.raises(OSError):
            while True:
                fh.write(b"x" * 65536)
                fh.flush()
        (disk / "filler").unlink()
        (disk / "filler").write_bytes(b"x" * (1024 * 1024 - 200 * 1024))  # about 200 kB left: less than the db
        code = cli_main(["--workspace", str(made[0]), "backup", "--out", str(disk)])
        err = capsys.readouterr().err
        assert code == 2 and "is full" in err and "was not written" in err and "unexpected" not in err, err
        assert sorted(p.name for p in disk.iterdir()) == ["filler"]


# ---------------------------------------------------------------- item 14: restore checks what it restores


def test_restore_puts_in_place_only_what_the_manifest_lists(made, tmp_path: Path, capsys) -> None:
    """A crafted backup with an extra file in a version folder: the extra file is left out and named."""
    crafted = tmp_path / "crafted.tar.gz"
    with tarfile.open(made[1]) as src, tarfile.open(crafted, "w:gz") as dst:
        for member in src.getmembers():
            dst.addfile(member, src.extractfile(member) if member.isfile() else None)
        payload = b"import os; os.system('echo owned')\n"
        extra = tarfile.TarInfo("models/r1/v1/extra_unlisted.py")
        extra.size = len(payload)
        dst.addfile(extra, io.BytesIO(payload))
    code = cli_main(["restore", str(crafted), "--workspace", str(tmp_path / "new")])
    out = capsys.readouterr().out
    assert code == 0 and "left out models/r1/v1/extra_unlisted.py" in out
    assert not (tmp_path / "new" / "models" / "r1" / "v1" / "extra_unlisted.py").exists()
    assert sorted(p.name for p in (tmp_path / "new" / "models" / "r1" / "v1").iterdir()) == sorted(
        p.name for p in (made[0] / "models" / "r1" / "v1").iterdir()
    )


def test_a_manifest_naming_a_path_outside_the_version_folders_is_refused(made, tmp_path: Path) -> None:
    """A manifest entry pointing elsewhere is refused before anything is extracted."""
    import json

    crafted = tmp_path / "crafted.tar.gz"
    with tarfile.open(made[1]) as src, tarfile.open(crafted, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member) if member.isfile() else None
            if member.name == "manifest.json":
                manifest = json.loads(data.read())
                manifest["versions"][0]["path"] = "models/../../etc"
                payload = json.dumps(manifest).encode()
                member.size, data = len(payload), io.BytesIO(payload)
            dst.addfile(member, data)
    with pytest.raises(StoreError, match="not ours"):
        restore(crafted, tmp_path / "new")
    assert not (tmp_path / "new" / "sentinel.db").exists()


# ---------------------------------------------------------------- item 6: repair names the file, rebuilds the rest


@pytest.mark.slow
def test_repair_rebuilds_every_readable_version_and_names_the_broken_file(made, tmp_path: Path, capsys) -> None:
    """One malformed meta.json beside a damaged database: repair rebuilds the other versions, moves the broken
    folder to quarantine and says which file and why; the workspace opens again."""
    root = tmp_path / "ws"
    shutil.copytree(made[0], root)
    pipeline.train_reservoir(Workspace(root), SAMPLE_NAME, FAST)  # version 2
    (root / "models/r1/v1/meta.json").write_text('{bad json, "version": 1}')
    (root / "sentinel.db").write_bytes(b"")
    assert cli_main(["--workspace", str(root), "repair"]) == 0
    out = capsys.readouterr().out
    assert "left out models/r1/v1/meta.json is not valid JSON (Expecting property name" in out, out
    assert "moved to models/r1/quarantine/v1-" in out
    repaired = Workspace(root)
    assert [v.version for v in repaired.versions(SAMPLE_NAME)] == [2]
    assert repaired.load_version(SAMPLE_NAME, 2).version == 2
    (kept,) = (root / "models/r1/quarantine").iterdir()
    assert (kept / "meta.json").read_text().startswith("{bad json")  # moved, never deleted
