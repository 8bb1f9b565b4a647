"""Old workspaces open and migrate: a schema-3 workspace written by the old code (tests/fixtures/schema3)."""

from __future__ import annotations

import json
import sqlite3
import tarfile
from pathlib import Path

import numpy as np
import pytest

from core.app.pipeline import forecast_reservoir
from core.store.workspace import SCHEMA_VERSION, Workspace

FIXTURE = Path(__file__).parent / "fixtures" / "schema3"
EXPECTED = json.loads((FIXTURE / "expected.json").read_text())
NAME = "Lake Sample"


@pytest.fixture
def old_workspace(tmp_path: Path) -> Path:
    """The schema-3 workspace unpacked into a temp folder."""
    root = tmp_path / "ws"
    root.mkdir()
    with tarfile.open(FIXTURE / "workspace.tar.gz") as tar:
        tar.extractall(root, filter="data")
    return root


def _stored_schema(root: Path) -> int:
    """The schema version written in the database file."""
    conn = sqlite3.connect(f"file:{root / 'sentinel.db'}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT version FROM schema_version").fetchone()[0])
    finally:
        conn.close()


def test_the_fixture_is_schema_3(old_workspace: Path) -> None:
    """The fixture really is an old database (so the tests below exercise the migrations)."""
    assert _stored_schema(old_workspace) == 3


def test_an_old_workspace_migrates_and_lists_its_versions_with_the_same_numbers(old_workspace: Path) -> None:
    """Its versions keep their numbers, active flag, checksums and scores after the upgrade."""
    ws = Workspace(old_workspace)
    ws.levels(NAME)  # any use upgrades it
    assert _stored_schema(old_workspace) == SCHEMA_VERSION
    got = [
        {"version": v.version, "active": v.active, "model": v.model, "val_mae": v.val_mae, "sha256": v.sha256}
        for v in ws.versions(NAME)
    ]
    assert got == EXPECTED["models"]
    assert [lv.name for lv in ws.levels(NAME)] == ["Flood warning"]
    assert [c.name for c in ws.channels()] == ["hook"]


@pytest.mark.parametrize("version", [1, 2])
def test_an_old_workspace_loads_and_forecasts_as_before(old_workspace: Path, version: int) -> None:
    """Each old version loads (checksum, safe_mode) and issues the forecast the old code issued."""
    ws = Workspace(old_workspace)
    want = EXPECTED["forecasts"][str(version)]
    loaded = ws.load_version(NAME, version)
    assert loaded.version == version and loaded.config.model.name == want["model"]
    fc = forecast_reservoir(ws, NAME, version=version)
    assert str(fc.issued)[:10] == want["issued"]
    for key in ("value", "lower_80", "upper_80"):
        got = [getattr(p, key) for p in fc.points]
        np.testing.assert_allclose(got, want["values" if key == "value" else key], rtol=0, atol=1e-6)
