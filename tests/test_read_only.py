"""Reads never write: a workspace on read-only storage serves `reservoirs`, `models`, `forecast`, `hindcast`,
`export` and the dashboard for a viewer, and not one of its files changes; a write is refused in words.

We run as root, and root ignores chmod, so the storage is made read-only with a read-only bind mount; where mounts
are not permitted the same commands run as an unprivileged user (nobody) on a chmod-ed copy; only when neither
works is the test skipped, saying why.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.app.pipeline import import_csv, train_reservoir
from core.auth.roles import Actor, Role
from core.data.levels import OperatingLevel
from core.data.sample import SAMPLE_NAME as R
from core.data.sample import SampleConfig, make_sample
from core.model.config import ModelConfig, TrainConfig
from core.store.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
VIEWER = Actor("sub-viewer", "vera@utility.example", Role.viewer)
RIDGE = TrainConfig(target="level", features=("rainfall", "inflow"), model=ModelConfig(name="ridge"))
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
Run = Callable[[list[str]], subprocess.CompletedProcess]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small workspace: the sample's last three years, a ridge version, a flood level, a viewer."""
    root = tmp_path_factory.mktemp("ro") / "ws"
    ws = Workspace(root)
    frame = make_sample(SampleConfig(start="2021-01-01", years=3)).frame
    import_csv(ws, frame.rename_axis("date").reset_index().to_csv(index=False).encode(), reservoir=R, filename="s.csv")
    train_reservoir(ws, R, RIDGE)
    ws.set_levels(R, [OperatingLevel("Flood watch", 313.5, "m", "flood", "watch", "level")])
    ws.set_user(VIEWER.subject, "viewer", VIEWER.name)
    return root


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under the workspace with its digest: what 'nothing changed' compares."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(root.rglob("*"))
    }


def _python(args: list[str], env: dict[str, str], as_nobody: bool) -> subprocess.CompletedProcess:
    """Run Python (from the repo) directly or as nobody."""
    command = [*(NOBODY if as_nobody else []), sys.executable, *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)


@contextmanager
def _bind_read_only(root: Path) -> Iterator[bool]:
    """Remount `root` read-only in place; yields False when mounts are not permitted here."""
    if os.name != "posix" or os.geteuid() != 0:
        yield False
        return
    if subprocess.run(["mount", "--bind", str(root), str(root)], capture_output=True).returncode:
        yield False
        return
    try:
        ok = not subprocess.run(["mount", "-o", "remount,ro,bind", str(root)], capture_output=True).returncode
        yield ok
    finally:
        subprocess.run(["umount", str(root)], capture_output=True)


def _chmod_copy(made: Path, scratch: Path) -> Path:
    """A copy nobody may read but not write (folders 555, files 444), in a folder nobody can reach."""
    root = scratch / "ws"
    shutil.copytree(made, root)
    for path in [root, *root.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    return root


def _nobody_works() -> bool:
    """setpriv is there and may drop to nobody."""
    return shutil.which("setpriv") is not None and not subprocess.run([*NOBODY, "true"]).returncode


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A folder any user can reach and write (HOME and export targets of the commands), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="sentinel-ro-"))
    folder.chmod(0o777)
    try:
        yield folder
    finally:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o777 if path.is_dir() else 0o666)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def read_only(made: Path, tmp_path: Path, scratch: Path) -> Iterator[tuple[Path, Run, Path]]:
    """(the read-only workspace, a runner of `python ARGS`, a writable folder); skips only when no way works."""
    env = {**os.environ, "HOME": str(scratch), "SENTINEL_WORKSPACE": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    root = tmp_path / "ws"
    shutil.copytree(made, root)
    with _bind_read_only(root) as mounted:
        if mounted:
            assert subprocess.run(["touch", str(root / "probe")], capture_output=True).returncode  # really read-only
            yield root, lambda args: _python(args, env, as_nobody=False), scratch
            return
    if not _nobody_works():
        pytest.skip("read-only storage cannot be made here: bind mounts are not permitted and setpriv cannot run")
    yield _chmod_copy(made, scratch), lambda args: _python(args, env, as_nobody=True), scratch


def _cli(run: Run, root: Path, *args: str) -> subprocess.CompletedProcess:
    """`python -m core --workspace ROOT ARGS`."""
    return run(["-m", "core", "--workspace", str(root), *args])


@pytest.mark.slow  # subprocesses of the CLI / the app, several seconds each
def test_reads_work_on_read_only_storage_and_change_nothing(read_only) -> None:
    root, run, scratch = read_only
    before = snapshot(root)
    listed = _cli(run, root, "reservoirs", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["name"] for r in json.loads(listed.stdout)["reservoirs"]] == [R]
    models = _cli(run, root, "models", "--reservoir", R, "--json")
    assert models.returncode == 0 and json.loads(models.stdout)["models"][0]["version"] == 1, models.stderr
    forecast = _cli(run, root, "forecast", "--reservoir", R, "--json")
    assert forecast.returncode == 0, forecast.stderr
    assert len(json.loads(forecast.stdout)["forecast"]) == RIDGE.horizon
    assert "the alert state was not recorded" in forecast.stderr  # said, and the forecast still stands
    hindcast = _cli(run, root, "hindcast", "--reservoir", R, "--from", "2023-06-01", "--to", "2023-06-03", "--json")
    assert hindcast.returncode == 0, hindcast.stderr
    exported = _cli(run, root, "export", "--reservoir", R, "--format", "csv", "--out", str(scratch / "f.csv"))
    assert exported.returncode == 0 and (scratch / "f.csv").stat().st_size > 0, exported.stderr
    assert snapshot(root) == before


@pytest.mark.slow  # subprocesses of the CLI / the app, several seconds each
def test_a_write_on_read_only_storage_is_refused_in_words(read_only) -> None:
    root, run, _ = read_only
    before = snapshot(root)
    refused = _cli(run, root, "levels", "--reservoir", R, "--trigger", "0.5")
    assert refused.returncode != 0 and "read-only" in refused.stderr and "Traceback" not in refused.stderr
    assert snapshot(root) == before


DASHBOARD = """
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=120)
at.secrets["auth"] = {auth}
at.user = {user}
at.run()
seen = {{}}
for page in ("overview", "forecast", "models"):
    if page != "overview":
        at.switch_page(f"pages/{{page}}.py").run()
    texts = [str(e.value) for kind in ("title", "header", "subheader", "markdown", "caption", "warning", "error")
             for e in at.get(kind)]
    seen[page] = {{"exception": [str(e.value) + "".join(e.stack_trace) for e in at.exception], "texts": texts}}
print(json.dumps(seen))
"""


@pytest.mark.slow  # subprocesses of the CLI / the app, several seconds each
def test_the_dashboard_serves_a_viewer_on_read_only_storage(read_only) -> None:
    from tests.test_auth_roles import AUTH

    root, run, _ = read_only
    before = snapshot(root)
    user = {"is_logged_in": True, "sub": VIEWER.subject, "email": VIEWER.name, "name": VIEWER.name}
    code = DASHBOARD.format(auth=repr(AUTH), user=repr(user))
    shown = run(["-c", f"import os; os.environ['SENTINEL_WORKSPACE'] = {str(root)!r}\n{code}"])
    assert shown.returncode == 0, shown.stderr[-3000:]
    pages = json.loads(shown.stdout.strip().splitlines()[-1])
    assert {page: seen["exception"] for page, seen in pages.items()} == {"overview": [], "forecast": [], "models": []}
    said = {page: "\n".join(seen["texts"]) for page, seen in pages.items()}
    assert R in said["overview"] and "(viewer)" in said["overview"] and "299" in said["overview"]  # its forecast
    assert "The line** is the model's single best estimate" in said["forecast"]
    assert "Files: models/r1/v1; checksum sha256" in said["models"]
    assert snapshot(root) == before


def test_opening_and_reading_take_no_write_lock_and_change_no_file(made: Path, tmp_path: Path) -> None:
    """While another process holds the database's write lock (the cycle writing), a reader opens the workspace and
    reads at once (a viewer's reads and the dashboard's start-up look for dead jobs included), and the database
    file is byte for byte what it was (no migration, no sweep, no checkpoint)."""
    import sqlite3
    import time

    root = tmp_path / "ws"
    shutil.copytree(made, root)
    before = snapshot(root)
    writer = sqlite3.connect(root / "sentinel.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a writer mid-transaction
    try:
        t0 = time.monotonic()
        ws = Workspace(root)
        assert [v.version for v in ws.versions(R)] == [1] and ws.reservoir(R).name == R
        assert len(ws.readings(R)) > 1000 and ws.load_version(R).version == 1
        viewer = ws.acting_as(VIEWER)  # what a viewer's page load reads
        assert viewer.reservoirs()[0].name == R and viewer.levels(R)[0].name == "Flood watch"
        assert ws.mark_interrupted() == 0  # the dashboard's start: no dead job, so it only looked
        assert time.monotonic() - t0 < 10  # never waited the 30 s busy time for the write lock
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    after = snapshot(root)
    assert {k: v for k, v in after.items() if not k.startswith("sentinel.db-")} == {
        k: v for k, v in before.items() if not k.startswith("sentinel.db-")
    }
