"""The daily cycle under faults (issue 19, items 8 and 13): a first model whose first forecast cannot be issued is
kept, a full disk while saving a version and a damaged model file are named, and `retrained` is true only when a
version was kept.

The forecast window's gaps (item 8's choice): the forecast sees the same clean frame the model trained on, so a
gap of up to `max_gap_days` (3) with readings on both sides is interpolated in the window as in training, and a
longer gap is not filled: the forecast fails naming the days. Filling longer gaps only at forecast time would
feed the model inputs unlike anything it was trained and calibrated on, and its bands would not know it.
"""

from __future__ import annotations

import errno
import sqlite3

import pandas as pd
import pytest

from core.cli.main import main
from core.data.sample import SAMPLE_NAME
from core.fleet import cycle
from core.fleet.cycle import run_cycle
from core.store.workspace import Workspace
from tests.test_cycle import SAMPLE_END, add_reservoir, options, ridge, rows, sample_frame, version_folders

pytestmark = pytest.mark.slow  # each runs the daily cycle, which trains


def test_a_first_model_is_kept_when_its_first_forecast_cannot_be_issued(tmp_path, monkeypatch) -> None:
    """5 missing days in the last 14 (longer than the cleaning fills): the first version is kept and active, the
    row says why no forecast was issued, and the next cycle does not train it again. 2 missing days are filled by
    the cleaning rule, in the window as in training, and the forecast is issued."""
    monkeypatch.setattr(cycle, "first_model_config", lambda ws, name: ridge())  # quick first models
    ws = Workspace(tmp_path / "ws")
    add_reservoir(ws, "Gappy", sample_frame().drop(pd.date_range("2023-12-22", "2023-12-26")), tmp_path, train=False)
    add_reservoir(ws, "Patched", sample_frame().drop(pd.date_range("2023-12-24", "2023-12-25")), tmp_path, train=False)
    first = rows(run_cycle(ws, options("serial", retrain="due")))
    gappy = first["Gappy"]
    assert gappy.status == "failed" and gappy.retrained and gappy.new_version == 1, gappy
    assert "No forecast could be issued" in gappy.error and "2023-12-22" in gappy.error
    assert "Version 1, trained this cycle, is kept" in gappy.error
    assert ws.version("Gappy").version == 1  # registered and active (the first version, by the store's rule)
    assert first["Patched"].status == "ok" and first["Patched"].issued == SAMPLE_END
    again = rows(run_cycle(ws, options("serial", retrain="due")))["Gappy"]
    assert not again.retrained and again.new_version is None and "0 day(s) behind" in again.retrain_reason
    assert again.status == "failed" and "2023-12-22" in again.error
    assert [v.version for v in ws.versions("Gappy")] == [1]


def test_a_full_disk_while_saving_a_version_is_named_and_not_retrained(tmp_path, monkeypatch) -> None:
    """The disk fills while the cycle writes a trained version: the row says so (no 'unexpected OSError'),
    `retrained` is false, nothing is registered and nothing is left under models/."""
    import core.fleet.adopt as adopt

    ws = Workspace(tmp_path / "ws")
    add_reservoir(ws, "Alpha", sample_frame(), tmp_path)

    def full(data: bytes, folder) -> list[str]:  # noqa: ANN001 - as unpack_into
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(adopt, "unpack_into", full)
    row = rows(run_cycle(ws, options("serial", retrain="all")))["Alpha"]
    assert row.status == "failed" and not row.retrained and row.new_version is None
    assert "was trained but not saved: the disk holding" in row.error and "is full" in row.error
    assert "unexpected" not in row.error
    assert [v.version for v in ws.versions("Alpha")] == [1]
    assert [p for p in version_folders(ws) if not p.endswith(".lock")] == ["r1/v1"]


def test_a_damaged_keras_file_with_a_matching_checksum_is_named(trained_sample, tmp_path, capsys) -> None:
    """model.keras replaced by garbage and its recorded checksum updated: forecast and cycle say the file is
    damaged and what to do, never 'unexpected BadZipFile'."""
    import hashlib
    import shutil

    root = tmp_path / "ws"
    shutil.copytree(trained_sample[0].root, root)
    ws = Workspace(root)
    version = ws.active_version(SAMPLE_NAME)
    damaged = root / version.path / version.model_file
    damaged.write_bytes(b"PK\x03\x04 this is not a keras archive any more")
    conn = sqlite3.connect(ws.db_path)
    digest = hashlib.sha256(damaged.read_bytes()).hexdigest()  # the checksum matches: the reader must say it
    conn.execute("UPDATE model_versions SET sha256 = ?, files = '{}'", (digest,))
    conn.commit()
    conn.close()
    code = main(["--workspace", str(root), "forecast", "--reservoir", SAMPLE_NAME])
    err = capsys.readouterr().err
    assert code == 2 and "model file model.keras is damaged: it is not a readable Keras archive" in err, err
    assert "Activate another version" in err and "unexpected" not in err
    row = rows(run_cycle(ws, options("serial", retrain="none")))[SAMPLE_NAME]
    assert row.status == "failed" and "is damaged" in row.error and "unexpected" not in row.error
