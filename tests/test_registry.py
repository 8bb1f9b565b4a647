"""The registry is the one home of model artifacts: one way to write, check and load a version, wherever it runs
(the dashboard's jobs, the CLI, a cycle task on another machine), and versions that serve several reservoirs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from core import registry
from core.app.pipeline import import_csv
from core.data.sample import SampleConfig, make_sample
from core.fleet import tasks
from core.fleet.adopt import adopt_archive
from core.fleet.due import TRAIN_YES
from core.model.config import ModelConfig, TrainConfig
from core.model.train import fit
from core.store.workspace import Workspace

RIDGE = TrainConfig(target="level", features=("rainfall", "inflow"), model=ModelConfig(name="ridge"))


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """Two years of the sample's level, rainfall and inflow."""
    return make_sample(SampleConfig(start="2022-01-01", years=2)).frame[["level", "rainfall", "inflow"]]


@pytest.fixture(scope="module")
def result(frame: pd.DataFrame):
    """A fitted ridge model."""
    return fit(frame, RIDGE)


def test_a_written_version_loads_back_only_while_every_file_matches(result, tmp_path: Path) -> None:
    folder = tmp_path / "v"
    folder.mkdir()
    meta = registry.write_single(folder, result, "Lake", {"note": "kept"})
    (folder / "extra.json").write_text("{}")  # every file of the folder is checked, not just the model file
    record = registry.written_record(folder, meta, "Lake")
    assert set(record.files) == {"model.json", "extra.json"} and record.sha256 == record.files["model.json"]
    loaded = registry.load_folder(record, folder)
    assert loaded.config == result.config and loaded.meta["note"] == "kept" and loaded.reservoir == "Lake"
    (folder / "extra.json").write_text('{"changed": 1}')
    with pytest.raises(registry.VersionError, match=r"changed on disk after it was saved \(extra.json\)"):
        registry.load_folder(record, folder)


def test_a_version_of_an_unknown_kind_is_refused_not_guessed(result, tmp_path: Path) -> None:
    folder = tmp_path / "v"
    folder.mkdir()
    record = replace(registry.written_record(folder, registry.write_single(folder, result, "Lake"), "Lake"), kind="x")
    with pytest.raises(registry.VersionError, match="'x' model, which this version of Reservoir Sentinel cannot"):
        registry.load_folder(record, folder)


def test_a_task_trains_one_version_across_reservoirs_that_serves_them_all(frame, tmp_path: Path, monkeypatch) -> None:
    """The fleet model's path through the cycle: a trainer over several frames, one archive, one version linked to
    every reservoir with its own number and score, and each reservoir's training lock held by the driver."""

    def across(spec: tasks.TaskSpec, folder: Path):
        own, trained = tasks._train(replace(spec, values=spec.frames[spec.reservoir]), folder)
        return own, {**trained, "val_mae": {name: trained["val_mae"] * (i + 1) for i, name in enumerate(spec.frames)}}

    monkeypatch.setitem(tasks.TRAINERS, "across", across)
    ws = Workspace(tmp_path / "ws")
    for name in ("A", "B"):
        csv = frame.rename_axis("date").reset_index().to_csv(index=False).encode()
        import_csv(ws, csv, reservoir=name, filename=f"{name}.csv")
    spec = tasks.TaskSpec(
        reservoir="A", values=frame, config=RIDGE.to_dict(), train=TRAIN_YES, reason="test", trainer="across",
        frames={"A": frame, "B": frame},
    )
    assert spec.serves == ("A", "B")
    with ws.training_lock(*spec.serves):
        assert ws.training_holder("A") is not None and ws.training_holder("B") is not None
        done = tasks.run_task(spec)
        assert done.status == "ok" and done.serves == ("A", "B")
        version = adopt_archive(ws, done.serves, done.archive, done.meta, done.val_mae)
    served = {v.reservoir: v for v in ws.served_by(version.id)}
    assert {n: (v.version, v.active) for n, v in served.items()} == {"A": (1, True), "B": (1, True)}
    assert served["B"].val_mae == pytest.approx(2 * served["A"].val_mae)
    assert served["A"].path.startswith("models/shared/v") and served["A"].path == served["B"].path
    assert ws.load_version("B").reservoir == "B"  # loaded for the reservoir asked for, from the shared folder
