"""Train and Models pages driven through the real app with AppTest: form defaults, a real background run,
refusal of a second run, re-attaching to a running job, and version activate/delete."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.app.pipeline import default_features
from core.data.sample import SAMPLE_NAME
from core.model.config import TrainConfig
from core.store.workspace import Workspace
from tests.apptest_support import open_page, private_copy, run, texts, wait_for

pytestmark = [pytest.mark.usefixtures("fresh_caches"), pytest.mark.slow]  # AppTest runs that train or follow jobs


@pytest.fixture(scope="module")
def two_versions(trained_sample, tmp_path_factory) -> Path:
    """The shared tiny trained sample plus a second, inactive version (the same fit saved again), copied once."""
    ws, outcome = trained_sample
    root = tmp_path_factory.mktemp("models") / "ws"
    shutil.copytree(ws.root, root)
    Workspace(root).save_version(SAMPLE_NAME, outcome.result, activate=False)
    return root


@pytest.fixture
def models_ws(two_versions, tmp_path, monkeypatch) -> Workspace:
    """A private copy of the two-version workspace, so tests may activate and delete."""
    return private_copy(two_versions, tmp_path, monkeypatch)


def plain(markdown: str) -> str:
    """Text as read on screen: user text in markdown is backslash-escaped by the page."""
    return markdown.replace("\\", "")


def running_row(ws: Workspace, epochs: int = 5) -> int:
    """A job row that looks like a live training process (this test process's pid is alive)."""
    config = TrainConfig(target="level", features=("rainfall",), epochs=epochs)
    job_id = ws.create_job(SAMPLE_NAME, "train", {"config": config.to_dict(), "activate": None, "retrain": False})
    ws.update_job(job_id, status="running", pid=os.getpid())
    return job_id


# ---------------------------------------------------------------- Train page


def test_train_form_shows_defaults(app_sample_ws):
    """An operator sees the documented defaults and the reservoir's level as target."""
    at = open_page("train")
    assert at.title[0].value == "Train"
    assert at.selectbox(key="train_target").value == "level"
    assert at.multiselect(key="train_features").value == list(default_features(app_sample_ws, SAMPLE_NAME, "level"))
    assert at.number_input(key="train_n_steps").value == 14
    assert at.number_input(key="train_horizon").value == 7
    assert at.number_input(key="train_lr").value is None  # empty: each model's own rate (3e-4; the ensemble 1e-3)
    defaults = TrainConfig(target="level")  # the rest follow the core defaults
    assert at.number_input(key="train_epochs").value == defaults.epochs
    assert at.number_input(key="train_batch").value == defaults.batch_size
    assert at.number_input(key="train_patience").value == defaults.patience
    assert at.date_input(key="train_test_from").value is None
    for key in ("train_target", "train_features", "train_n_steps", "train_lr", "train_test_from"):
        assert at.get_by_key(key).help, f"{key} has no help text"
    assert "level" not in at.multiselect(key="train_features").options

    at.selectbox(key="train_target").set_value("storage")  # a new target gets its own covariates
    run(at)
    assert "storage" not in at.multiselect(key="train_features").value
    assert at.multiselect(key="train_features").value == list(default_features(app_sample_ws, SAMPLE_NAME, "storage"))


def test_train_run_to_result_and_activate(models_ws):
    """Start a real 2-epoch run, follow it, then see the metrics table and activate the new version."""
    app_sample_ws = models_ws  # v1 active, v2 not: the run saves v3
    at = open_page("train")
    at.number_input(key="train_epochs").set_value(2)
    at.number_input(key="train_batch").set_value(512)  # fewer steps per epoch: the test waits for this run
    at.button(key="train_start").click()
    run(at)
    jobs = app_sample_ws.jobs(SAMPLE_NAME)
    assert len(jobs) == 1
    assert jobs[0].config["epochs"] == 2
    assert jobs[0].config["batch_size"] == 512
    assert f"Training in progress (job #{jobs[0].id})" in texts(at)  # the live section replaced the form

    job = wait_for(app_sample_ws, jobs[0].id)
    assert job.status == "done", job.message
    assert [e.epoch for e in job.epochs] == [1, 2]
    assert job.result["version"] == 3
    app_sample_ws.activate(SAMPLE_NAME, 1)  # whatever the validation rule chose, make v3 the challenger

    run(at)
    page = texts(at)
    assert "Result: version 3" in page
    assert "Skill vs persistence" in page and "tomorrow = today" in page
    table = at.dataframe[0].value
    assert list(table[""]) == ["New model (version 3)", "Persistence ('tomorrow = today')", "Active model (version 1)"]
    assert table.loc[0, "MAE"] == pytest.approx(job.result["metrics"]["model"]["mae"])
    assert table.loc[1, "MAE"] == pytest.approx(job.result["metrics"]["persistence"]["mae"])
    assert at.get("plotly_chart"), "lead-day error chart missing"

    at.button(key="train_activate").click()
    run(at)
    assert app_sample_ws.version(SAMPLE_NAME).version == 3
    assert "Version 3 is the active model" in texts(at)
    assert not [b for b in at.button if b.key == "train_activate"]
    assert "done" in list(at.dataframe[-1].value["Status"])  # job history


def test_second_start_is_refused_while_running(app_sample_ws):
    """A run started elsewhere (another tab) blocks Start here, with the store's message."""
    at = open_page("train")
    job_id = running_row(app_sample_ws)
    at.button(key="train_start").click()
    run(at)
    errors = [e.value for e in at.error]
    assert any(f"already has a train job #{job_id}" in e for e in errors), errors
    assert len(app_sample_ws.jobs(SAMPLE_NAME)) == 1  # nothing new was queued


def test_page_reattaches_to_running_job_and_stops_it(app_sample_ws):
    """Opening the page while a run is going shows its progress and a working Stop button."""
    job_id = running_row(app_sample_ws, epochs=5)
    for epoch, loss in ((1, 0.5), (2, 0.4)):
        app_sample_ws.add_epoch(job_id, epoch, {"loss": loss, "val_loss": loss + 0.1}, 1.5, 5)
    at = open_page("train")
    assert f"Training in progress (job #{job_id})" in texts(at)
    progress = at.get("progress")
    assert progress and "Epoch 2 of 5" in progress[0].proto.text
    assert "early stopping usually ends sooner" in texts(at)
    assert at.get("plotly_chart"), "live loss chart missing"
    at.button(key="train_stop").click()
    run(at)
    assert app_sample_ws.stop_requested(job_id)
    assert "Stopping after the current epoch" in texts(at)


def test_interrupted_and_failed_jobs_show_their_message(app_sample_ws):
    """A run whose process died (server restart) or failed says so instead of looking finished."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    job_id = running_row(app_sample_ws)
    app_sample_ws.update_job(job_id, pid=dead.pid)
    at = open_page("train")
    assert app_sample_ws.job(job_id).status == "interrupted"
    warnings = plain(" ".join(w.value for w in at.warning))
    assert f"job #{job_id}" in warnings and "stopped without reporting" in warnings
    assert at.button(key="train_start")  # the form is back

    failed = running_row(app_sample_ws)
    app_sample_ws.update_job(failed, status="failed", message="The test period has no complete 14+7-day window.")
    run(at)
    errors = plain(" ".join(e.value for e in at.error))
    assert f"job #{failed}" in errors and "no complete 14+7-day window" in errors


# ---------------------------------------------------------------- Models page


def test_models_page_lists_versions(models_ws):
    """Both versions are listed, the active one first (never below the fold), then newest first."""
    at = open_page("models")
    table = at.dataframe[0].value
    assert list(table["Version"]) == [1, 2]
    assert list(table["Active"]) == [True, False]
    assert list(table["Covariates"]) == ["rainfall, inflow", "rainfall, inflow"]
    assert list(table["Target"]) == ["level", "level"]
    assert table["Test MAE"].notna().all() and table["Skill"].notna().all()
    important = ["Version", "Active", "Skill", "RMSE skill", "Test MAE", "Target", "Covariates", "Data range"]
    assert list(table.columns[:8]) == important  # what must fit at 1280 px comes first
    assert list(table.columns[8:]) == ["Created", "Val MAE", "Epochs", "Train time (s)", "Model"]
    columns = json.loads(at.dataframe[0].proto.columns)
    assert columns["Test MAE"]["label"] == "Test MAE"  # short: the unit is on the values
    assert columns["Test MAE"]["type_config"]["format"] == "%,.3f m"  # level errors well below 100 m, in m
    assert at.get("plotly_chart"), "versions chart missing"
    assert any(e.label.startswith("Settings of version") for e in at.expander)
    assert at.get("json"), "config JSON missing"


def test_models_page_activates_a_version(models_ws):
    """Rollback/promote: the chosen version becomes the active one."""
    at = open_page("models")
    at.selectbox(key="models_version").set_value(2)
    run(at)
    at.button(key="models_activate").click()
    run(at)
    assert models_ws.version(SAMPLE_NAME).version == 2
    assert "Version 2 is now the active model" in texts(at)
    assert list(at.dataframe[0].value["Active"]) == [True, False]


def test_models_page_delete_refuses_active_and_deletes_inactive(models_ws):
    """The active version cannot be deleted; an inactive one is removed with its files after confirmation."""
    at = open_page("models")
    at.selectbox(key="models_version").set_value(1)
    run(at)
    assert not [b for b in at.button if b.key == "models_delete"]
    assert "cannot be deleted" in texts(at)

    folder = models_ws.root / models_ws.version(SAMPLE_NAME, 2).path
    assert folder.exists()
    at.selectbox(key="models_version").set_value(2)
    run(at)
    assert at.button(key="models_delete").disabled  # needs the confirmation tick first
    at.checkbox(key="models_confirm").check()
    run(at)
    at.button(key="models_delete").click()
    run(at)
    assert [m.version for m in models_ws.versions(SAMPLE_NAME)] == [1]
    assert not folder.exists()
    assert "Version 2 and its files were deleted" in texts(at)
    assert list(at.dataframe[0].value["Version"]) == [1]


def test_models_page_empty_state(app_sample_ws):
    """No versions yet: the page points to the Train page."""
    at = open_page("models")
    assert "No models yet" in " ".join(i.value for i in at.info)
    assert at.get("page_link"), "link to the Train page missing"


def test_result_without_skill_says_so_and_shows_comparison(models_ws):
    """A version that loses to 'tomorrow = today' is called out plainly; a retrain shows old vs new."""
    record = models_ws.version(SAMPLE_NAME, 2)
    metrics = {**record.metrics, "skill_vs_persistence": -0.12}
    side = {"mae": 0.05, "rmse": 0.07, "nse": 0.9, "kge": 0.9, "skill_vs_persistence": 0.1, "n_windows": 30}
    result = {
        "version": 2,
        "target": "level",
        "features": ["rainfall", "inflow"],
        "metrics": metrics,
        "splits": {k: list(v) for k, v in record.splits.items()},
        "epochs_run": 1,
        "best_epoch": 1,
        "train_seconds": 3.0,
        "stopped_by_user": False,
        "comparison": {
            "window": list(record.splits["test"]),
            "champion": {"version": 1, **side},
            "challenger": {"version": 2, **side, "mae": 0.04},
            "champion_trained_on_window_days": 0,
            "better": "challenger",
        },
    }
    job_id = running_row(models_ws)
    models_ws.update_job(job_id, status="done", message="version 2 saved", result=result)
    at = open_page("train")
    warning = plain(" ".join(w.value for w in at.warning))
    assert "does not beat 'tomorrow = today'" in warning and "more years of history" in warning
    assert "does not use yet (storage, outflow) as covariates" in warning
    comparison = at.dataframe[1].value
    assert list(comparison[""]) == ["Old (was active): version 1", "New: version 2"]
    assert list(comparison["MAE"]) == [0.05, 0.04]
    assert "Better on these days: the new model" in plain(texts(at)).replace("*", "")
    assert at.button(key="train_activate")  # v2 is not active yet

    result["comparison"] |= {"meaningful": False, "difference": "no meaningful difference (validation MAE 0.04 ...)"}
    models_ws.update_job(job_id, result=result)
    at = open_page("train")
    said = plain(texts(at)).replace("*", "")
    assert "No meaningful difference on these days: no meaningful difference" in said and "Better on" not in said


def test_skill_has_one_format_everywhere(models_ws):
    """Walkthrough: 65.89% on the Models page next to 66% elsewhere. Whole percent with its sign, on every page."""
    from core.app.summary import SKILL_FORMAT, model_skill, skill_percent
    from pages.forecast import skill_label

    record = models_ws.version(SAMPLE_NAME)
    skill = model_skill(record)
    at = open_page("models")
    table = at.dataframe[0].value
    assert table["Skill"].iloc[1] == skill_percent(skill) == round(100 * skill)
    columns = json.loads(at.dataframe[0].proto.columns)
    assert columns["Skill"]["type_config"]["format"] == SKILL_FORMAT == "%+.0f%%"
    assert skill_label(record).startswith(f"skill {SKILL_FORMAT % skill_percent(skill)} MAE")  # the Forecast picker


def test_train_page_says_where_a_version_without_a_run_came_from(models_ws):
    """Walkthrough: 'Recent training runs (0)' for a reservoir whose versions the CLI trained."""
    at = open_page("train")
    (history,) = [e for e in at.expander if e.label.startswith("Recent training runs")]
    assert history.label == "Recent training runs (0 from this page; 2 versions saved outside the dashboard)"
    said = " ".join(c.value for c in history.caption)
    assert "v1 (" in said and "v2 (" in said and "python -m core train" in said


def test_skill_is_explained_in_the_words_of_the_forecast_variable():
    """With storage as the target the Train page said '(the level stays where it is)'."""
    from pages.train import skill_explained

    assert "(the storage stays where it is)" in skill_explained("storage")
    assert "level" not in skill_explained("storage") and "RMSE" in skill_explained("storage")
