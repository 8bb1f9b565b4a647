"""The fleet model in the product (issue 22): `train --fleet`, the registry (one version serving many reservoirs, a
fine-tuned version with its parent), cold start, activation by the champion rule.

One fleet training through the CLI serves the module: three synthetic reservoirs long enough for their own training
(two with rainfall, one with inflow and outflow, in very different units), one with 60 days (a cold start), and one
with a ridge model of its own trained first.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.app.pipeline import forecast_reservoir, import_csv, train_reservoir
from core.cli.main import main
from core.model.config import ModelConfig, TrainConfig
from core.registry import FLEET, VersionError, archived, load_archived
from core.store.workspace import Workspace
from tests.test_fleet_model import _reservoir

FRAMES = {
    "Wet A": _reservoir(1, 420, ("rainfall",), 1.0),
    "Wet B": _reservoir(2, 420, ("rainfall",), 30.0),
    "Gauged": _reservoir(3, 360, ("inflow", "outflow"), 1e6),
    "New": _reservoir(9, 60, ("rainfall",), 5.0),
}
TINY_FLAGS = ["--epochs", "3", "--patience", "2", "--n-steps", "7", "--horizon", "3", "--batch-size", "64"]


def run_cli(*argv: str) -> tuple[int, str, str]:
    """`python -m core ARGV` in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def fleet_workspace(root: Path) -> Workspace:
    """The module's reservoirs imported through the ordinary import path."""
    ws = Workspace(root / "ws")
    for name, frame in FRAMES.items():
        path = root / f"{name}.csv"
        frame.rename_axis("date").reset_index().to_csv(path, index=False)
        import_csv(ws, path, reservoir=name)
    return ws


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The workspace after `train --fleet --json` (Wet A has its own ridge model first), and the JSON printed."""
    root = tmp_path_factory.mktemp("fleet")
    ws = fleet_workspace(root)
    ridge = TrainConfig(target="storage", features=("rainfall",), n_steps=7, horizon=3, model=ModelConfig(name="ridge"))
    train_reservoir(ws, "Wet A", ridge)
    code, out, err = run_cli("--workspace", str(ws.root), "train", "--fleet", *TINY_FLAGS, "--json")
    assert code == 0, err
    return ws, json.loads(out)


@pytest.mark.slow
def test_train_fleet_json_is_one_object_with_each_reservoir_s_test_scores(trained):
    _, out = trained
    assert set(out) >= {"train_seconds", "fleet_version", "reservoirs", "target"} and out["target"] == "storage"
    assert out["fleet_version"]["kind"] == FLEET and out["fleet_version"]["reservoirs"] == ["Gauged", "Wet A", "Wet B"]
    rows = {r["reservoir"]: r for r in out["reservoirs"]}
    assert set(rows) == set(FRAMES)
    for name in ("Wet A", "Wet B", "Gauged"):
        row = rows[name]
        assert not row["cold_start"] and row["model"] == "fleet_tuned" and row["history_days"] > 200
        metrics = row["metrics"]
        for key in ("skill_vs_persistence", "mae", "rmse", "nse", "kge", "mae_by_horizon", "model", "persistence"):
            assert key in metrics, key
        assert len(metrics["mae_by_horizon"]) == 3 and metrics["n_windows"] > 0
        assert np.isclose(metrics["skill_vs_persistence"], 1 - metrics["mae"] / metrics["persistence"]["mae"], 1e-4)
    assert rows["New"]["cold_start"] and rows["New"]["history_days"] == 60 and rows["New"]["metrics"] == {}


@pytest.mark.slow
def test_the_fleet_version_is_saved_once_and_linked_to_every_reservoir_it_serves(trained):
    ws, out = trained
    fleet_id = out["fleet_version"]["id"]
    links = ws.served_by(fleet_id)
    assert sorted(v.reservoir for v in links) == ["Gauged", "New", "Wet A", "Wet B"]
    assert {v.path for v in links} == {links[0].path} and links[0].path.startswith("models/shared/")
    assert all(v.kind == FLEET and v.parent_id is None for v in links)
    own = {v.reservoir: v for v in links}
    assert own["Gauged"].features == ("inflow", "outflow") and own["Wet B"].features == ("rainfall",)
    assert own["Wet A"].metrics["skill_vs_persistence"] != own["Wet B"].metrics["skill_vs_persistence"]


@pytest.mark.slow
def test_a_fine_tuned_version_is_its_reservoir_s_own_and_records_its_parent(trained):
    ws, out = trained
    fleet_id = out["fleet_version"]["id"]
    for row in out["reservoirs"]:
        if row["cold_start"]:
            continue
        tuned = ws.version(row["reservoir"], row["version"])
        assert tuned.parent_id == fleet_id and tuned.kind == FLEET and tuned.model == "fleet_tuned"
        assert tuned.path.startswith("models/r") and ws.served_by(tuned.id) == [tuned]
        assert tuned.meta["fleet_parent"]["version"] == fleet_id


@pytest.mark.slow
def test_activation_is_the_champion_rule_on_validation(trained):
    ws, _ = trained
    for name in ("Wet A", "Wet B", "Gauged"):
        versions = ws.versions(name)
        active = [v for v in versions if v.active]
        assert len(active) == 1
        assert active[0].val_mae == min(v.val_mae for v in versions if v.val_mae is not None), name
    assert ws.versions("Wet A")[0].model == "ridge"


@pytest.mark.slow
def test_save_load_round_trip_through_the_registry_checks_files_first(trained, tmp_path):
    from core.model.fleet import FleetModel

    ws, out = trained
    record = ws.served_by(out["fleet_version"]["id"])[0]
    loaded = ws.load_version(record.reservoir, record.version)
    direct = FleetModel.load(ws.root / record.path)
    X = np.random.default_rng(0).normal(size=(5, 7, 1 + len(loaded.config.features) + 2)).astype(np.float32)
    np.testing.assert_array_equal(loaded.model.predict(X), direct.forecaster(record.reservoir).predict(X))
    assert loaded.calibration is not None and loaded.config.features == record.features
    again = load_archived(archived(record, ws.root), tmp_path / "task")  # what a cycle task receives
    np.testing.assert_array_equal(again.model.predict(X), loaded.model.predict(X))
    copy = tmp_path / "ws"
    shutil.copytree(ws.root, copy)
    (copy / record.path / "fleet.json").write_text("{}")
    with pytest.raises(VersionError, match="changed on disk"):
        Workspace(copy).load_version(record.reservoir, record.version)


@pytest.mark.slow
def test_a_cold_start_reservoir_gets_a_forecast_and_bands_and_says_what_serves_it(trained):
    ws, out = trained
    fc = forecast_reservoir(ws, "New")
    assert fc.model == "fleet" and len(fc.points) == 3
    for p in fc.points:
        assert p.lower_95 <= p.lower_80 <= p.value <= p.upper_80 <= p.upper_95
    code, text, err = run_cli("--workspace", str(ws.root), "forecast", "--reservoir", "New", "--json")
    assert code == 0, err
    served = json.loads(text)["served_by"]
    assert served["cold_start"] and served["history_days"] == 60 and served["model"] == "fleet"
    code, text, _ = run_cli("--workspace", str(ws.root), "forecast", "--reservoir", "New")
    assert "Served by the fleet model" in text and "60 days of history" in text


def test_train_fleet_refuses_with_a_specific_message(tmp_path):
    ws = fleet_workspace(tmp_path)
    code, _, err = run_cli("--workspace", str(ws.root), "train", "--fleet", "--reservoirs", "Wet A,Nowhere")
    assert code == 2 and "No reservoir named 'Nowhere'" in err and "Traceback" not in err
    code, _, err = run_cli("--workspace", str(ws.root), "train", "--fleet", "--reservoirs", "Wet A,New")
    assert code == 2 and "needs at least 2 reservoirs with storage records long enough" in err and "(Wet A)" in err
    code, _, err = run_cli(
        "--workspace", str(ws.root), "train", "--fleet", "--target", "rainfall", "--reservoirs", "Wet A,Gauged"
    )
    assert code == 2 and "'Gauged' cannot take part in the fleet model: it has no 'rainfall' variable" in err
    code, _, err = run_cli("--workspace", str(ws.root), "train", "--fleet", "--target", "inflow")
    assert code == 2 and "needs at least 2 reservoirs with inflow" in err and "(Gauged)" in err
    code, _, err = run_cli("--workspace", str(ws.root), "train", "--fleet", "--features", "rainfall")
    assert code == 2 and "--features does not apply" in err
    code, _, err = run_cli("--workspace", str(ws.root), "train", "--target", "storage")
    assert code == 2 and "train needs --reservoir" in err


@pytest.mark.slow
def test_the_fleet_job_reports_each_epoch_and_saves_like_the_cli(trained, tmp_path, monkeypatch):
    import core.app.jobs
    from core.app.fleetjob import BODIES, FLEET_JOB, start_fleet_training
    from core.app.jobs import run_job
    from tests.test_fleet_model import TINY

    ws, _ = trained
    copy = tmp_path / "ws"
    shutil.copytree(ws.root, copy)
    ws = Workspace(copy)
    monkeypatch.setattr(core.app.jobs, "_launch", lambda ws, job_id: __import__("os").getpid())
    job_id = start_fleet_training(ws, "Wet B", target="storage", config=TINY)
    with pytest.raises(ValueError, match="already training"):
        start_fleet_training(ws, "Gauged")
    result = run_job(ws, job_id, BODIES)
    job = ws.job(job_id)
    assert job.kind == FLEET_JOB and job.status == "done" and job.result == json.loads(json.dumps(result))
    assert [e.epoch for e in job.epochs] == list(range(1, result["fleet_version"]["epochs_run"] + 1))
    assert all(e.logs.get("val_loss") is not None for e in job.epochs)
    assert {r["reservoir"] for r in result["reservoirs"]} == set(FRAMES)
    assert not any(r["active"] for r in result["reservoirs"] if r["reservoir"] != "New"), "the dashboard's rule"


@pytest.mark.slow
@pytest.mark.usefixtures("fresh_caches")
def test_the_train_page_s_fleet_tab_and_the_cold_start_s_forecast_page(trained, tmp_path, monkeypatch):
    from core.display import percent
    from tests.apptest_support import open_page, private_copy, run, texts

    ws, out = trained
    private_copy(ws.root, tmp_path, monkeypatch)
    at = open_page("train", "Wet A")
    at.session_state["train_mode"] = "All reservoirs"
    run(at, "Wet A")
    shown = texts(at)
    assert "When to use the fleet model" in shown and "Leaderboard" in shown
    board = {r["Reservoir"]: r for r in at.dataframe[0].value.to_dict("records")}
    assert set(board) == set(FRAMES)
    tuned = {r["reservoir"]: r["metrics"]["skill_vs_persistence"] for r in out["reservoirs"] if not r["cold_start"]}
    for name, skill in tuned.items():
        assert board[name]["Fleet + fine-tune"] == percent(skill, signed=True)
    assert board["New"]["Best on validation"] == "cold start: fleet" and board["New"]["Own default"] == "not trained"
    for name in FRAMES:
        active = ws.active_version(name)
        assert board[name]["Active"].startswith(f"v{active.version} · "), (name, board[name]["Active"])
    assert "Train on all reservoirs" in [b.label for b in at.button]
    forecast = open_page("forecast", "New")
    assert "Served by the fleet model" in texts(forecast) and "60 days of history" in texts(forecast)


@pytest.mark.slow
def test_stop_during_the_fine_tunes_skips_the_rest_and_says_so(trained, tmp_path):
    from core.app.fleettrain import train_fleet
    from tests.test_fleet_model import TINY

    ws, _ = trained
    shutil.copytree(ws.root, tmp_path / "ws")
    ws = Workspace(tmp_path / "ws")
    said: list[str] = []
    outcome = train_fleet(
        ws, config=TINY, stage=lambda done, total, what: said.append(what), should_stop=lambda: len(said) > 2
    )  # stages said: fleet, saving, the first fine-tune -> Stop before the second
    assert outcome.stopped_by_user
    models = [r.model for r in outcome.reservoirs if not r.cold_start]
    assert models == ["fleet_tuned", "fleet", "fleet"], models
    assert [w for w in said if w.startswith("fine-tuning")] == ["fine-tuning Gauged"]
