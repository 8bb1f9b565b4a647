"""The model zoo on the dashboard, driven through the real app with AppTest: a comparison started from the Train page
and followed to its leaderboard, a running one re-attached and stopped, refused, failed and stopped ones explained,
non-Keras versions on the Models page, and the attention section of the Forecast page."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import numpy as np
import pytest

from core.app.compare import compare_models
from core.app.pipeline import add_sample, train_reservoir
from core.data.sample import SAMPLE_NAME
from core.model.config import ModelConfig
from core.model.leaderboard import verdict
from core.model.zoo import MODEL_NAMES, ZOO
from core.store.workspace import JobProgress, Workspace
from tests.apptest_support import open_page, private_copy, run, texts, wait_for
from tests.conftest import tiny_config

pytestmark = [pytest.mark.usefixtures("fresh_caches"), pytest.mark.slow]  # AppTest runs over trained comparisons

FAST = ["persistence", "climatology", "ridge"]  # one-shot members: a comparison in seconds
LABELS = {"persistence": "Persistence", "climatology": "Seasonal climatology", "ridge": "Ridge regression"}


@pytest.fixture(scope="module")
def compared(tmp_path_factory) -> tuple[Path, dict]:
    """The sample reservoir with the three fast members compared in-process (versions 1-3), once per module."""
    root = tmp_path_factory.mktemp("compared") / "ws"
    ws = Workspace(root)
    add_sample(ws)
    board = compare_models(ws, SAMPLE_NAME, tiny_config(), FAST)
    return root, json.loads(json.dumps(board))  # as the job stores it


@pytest.fixture
def compared_ws(compared, tmp_path, monkeypatch) -> tuple[Workspace, dict]:
    """A private copy of the compared workspace named to the app, and the leaderboard."""
    root, board = compared
    return private_copy(root, tmp_path, monkeypatch), json.loads(json.dumps(board))


def job_row(
    ws: Workspace,
    status: str,
    result: dict | None = None,
    message: str = "",
    models=FAST,
    progress: JobProgress | None = None,
) -> int:
    """A compare job as the job process leaves it (running ones carry this test process's live pid)."""
    params = {"config": tiny_config().to_dict(), "models": list(models), "activate_best": None}
    job_id = ws.create_job(SAMPLE_NAME, "compare", params)
    ws.update_job(job_id, status="running", pid=os.getpid(), message=message or "preparing data", progress=progress)
    if status != "running" or result is not None:
        ws.update_job(job_id, status=status, message=message or None, result=result)
    return job_id


def open_compare_tab():
    """The Train page on its 'Compare models' tab."""
    at = open_page("train")
    if at.session_state["train_mode"] != "Compare models":
        at.session_state["train_mode"] = "Compare models"
        run(at)
    return at


def leaderboard(at) -> list[dict]:
    """The leaderboard table's rows (the first dataframe on the compare tab)."""
    return at.dataframe[0].value.to_dict("records")


def numbers(values) -> list:
    """A plotly JSON array as a list (plotly sends numeric arrays as base64 typed arrays)."""
    if isinstance(values, dict) and "bdata" in values:
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def chart_kinds(at) -> list[str]:
    """What the plotly charts on the page draw: their first trace types, in page order."""
    return [json.loads(c.proto.spec)["data"][0]["type"] for c in at.get("plotly_chart")]


# ---------------------------------------------------------------- Train page: compare models


def test_compare_from_the_train_page_to_the_leaderboard(app_sample_ws):
    """Pick three members, start, follow the job, then read the verdict, table and charts and activate another."""
    ws = app_sample_ws
    at = open_compare_tab()
    picker = at.multiselect(key="train_compare_models")
    assert picker.value == list(MODEL_NAMES)  # the whole zoo by default
    assert list(picker.options) == [ZOO[n].label for n in MODEL_NAMES]
    assert "Ridge regression" in picker.help and "Tomorrow = today" in picker.help
    assert at.number_input(key="train_epochs")  # the training settings form is shared
    picker.set_value(FAST)
    run(at)
    assert at.button(key="train_compare_start").label == "Compare 3 models"
    at.button(key="train_compare_start").click()
    run(at)
    job = ws.jobs(SAMPLE_NAME)[0]
    assert job.kind == "compare" and job.params["models"] == FAST
    assert f"Comparing 3 models (job #{job.id})" in texts(at)
    assert at.button(key="train_compare_stop")

    done = wait_for(ws, job.id)
    assert done.status == "done", done.message
    run(at)
    assert at.session_state["train_mode"] == "Compare models"
    board = done.result
    assert "Leaderboard: 3 models forecasting level" in texts(at)
    infos = " ".join(i.value for i in at.info)
    assert board["verdict"][:40] in infos.replace("\\", "")
    assert "Ranked on validation, scored on test" in texts(at)
    table = leaderboard(at)
    assert [r["Rank"] for r in table] == [1, 2, 3]
    assert all(r["Model"].startswith(b["label"]) for r, b in zip(table, board["models"], strict=True))
    assert [r["Version"] for r in table] == [r["version"] for r in board["models"]]
    assert table[0]["Test MAE"] == pytest.approx(board["models"][0]["metrics"]["model"]["mae"])
    assert table[0]["Val MAE"] == pytest.approx(board["models"][0]["val_mae"])
    assert table[0]["Model"] == f"{board['models'][0]['label']} ★ (active)"  # the first versions: best activated
    columns = json.loads(at.dataframe[0].proto.columns)
    assert columns["Test MAE"]["label"] == "Test MAE" and columns["Val MAE"]["label"] == "Val MAE"
    assert columns["Test MAE"]["type_config"]["format"].endswith(" m")  # the unit on the values: short headers
    assert "made the active model" in " ".join(s.value for s in at.success)
    assert ws.version(SAMPLE_NAME).version == board["models"][0]["version"]
    assert chart_kinds(at) == ["bar", "scatter", "scatter", "box"]  # bars, lead errors, observed vs forecast, residuals

    other = board["models"][-1]["version"]
    at.selectbox(key="train_compare_version").set_value(other)
    run(at)
    at.button(key="train_compare_activate").click()
    run(at)
    assert ws.version(SAMPLE_NAME).version == other
    assert f"Version {other} is now the active model" in texts(at)
    assert leaderboard(at)[-1]["Model"].endswith("(active)") and "active" not in leaderboard(at)[0]["Model"]
    assert "model comparison" in list(at.dataframe[-1].value["Run"])  # job history


def test_leaderboard_charts_follow_the_lead_day_and_model_pickers(compared_ws):
    """A refresh finds the latest comparison; the pickers redraw the scatter and residual charts."""
    ws, board = compared_ws
    job_row(ws, "done", board, "3 models compared")
    at = open_page("train")
    assert at.session_state["train_mode"] == "Compare models"  # the tab of the latest job opens by itself
    assert at.multiselect(key="train_compare_shown").value == [board["best"]]  # default net not compared here
    at.select_slider(key="train_compare_lead").set_value(7)
    at.multiselect(key="train_compare_shown").set_value(FAST)
    at.segmented_control(key="train_compare_metric").set_value("mae")
    run(at)
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert specs[0]["layout"]["xaxis"]["title"]["text"] == "test MAE (m)"
    scatter, residuals = specs[2], specs[3]
    assert scatter["layout"]["yaxis"]["title"]["text"] == "forecast 7 days ahead (m)"
    assert len([t for t in scatter["data"] if t["name"] != "1:1 (perfect forecast)"]) == 3
    assert len(residuals["data"]) == 3 and "7 days ahead" in residuals["layout"]["yaxis"]["title"]["text"]


def test_running_comparison_shows_progress_finished_models_and_stops(compared_ws):
    """Re-attached after a refresh: which model is at work, the finished ones, its loss curve, a Stop button."""
    ws, board = compared_ws
    first = board["models"][0]
    done = [{k: first[k] for k in ("model", "label", "version", "val_mae", "val_skill", "train_seconds")}]
    models = ["ridge", "lstm", "conv1d"]
    job_id = job_row(ws, "running", message="model 2 of 3: lstm", models=models, progress=JobProgress(1, 3, "lstm"))
    ws.update_job(job_id, result={"models": ["ridge", "lstm", "conv1d"], "done": done})
    ws.add_epoch(job_id, 1, {"loss": 0.9, "val_loss": 0.9, "model_index": 0, "model_epoch": 1}, 1, 3)  # ridge
    for epoch, loss in ((1, 0.5), (2, 0.4), (3, 0.3)):  # the job numbers them 2-4
        logs = {"loss": loss, "val_loss": loss + 0.1, "model_index": 1, "model_epoch": epoch}
        ws.add_epoch(job_id, epoch + 1, logs, 1, 3)
    at = open_page("train")
    assert f"Comparing 3 models (job #{job_id})" in texts(at)
    progress = at.get("progress")[0].proto
    assert progress.text == "Model 2 of 3: LSTM" and progress.value == 33
    assert "**LSTM**: epoch 3 of at most 3" in texts(at)
    finished = at.dataframe[0].value
    assert list(finished["Model"]) == [first["label"]] and list(finished["Version"]) == [first["version"]]
    loss = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert numbers(loss["data"][0]["x"]) == [1, 2, 3]  # the current model's epochs, renumbered
    at.button(key="train_compare_stop").click()
    run(at)
    assert ws.stop_requested(job_id)
    assert "Stopping after the current epoch" in texts(at)


def test_a_second_job_is_refused_while_one_runs(app_sample_ws):
    """One job per reservoir: starting a comparison during a run shows the store's refusal."""
    job_id = job_row(
        app_sample_ws, "running", message="model 1 of 3: persistence", progress=JobProgress(0, 3, "persistence")
    )
    at = open_compare_tab()
    at.multiselect(key="train_compare_models").set_value(["ridge"])
    at.button(key="train_compare_start").click()
    run(at)
    errors = " ".join(e.value for e in at.error)
    assert f"already has a compare job #{job_id}" in errors, errors
    assert len(app_sample_ws.jobs(SAMPLE_NAME)) == 1


def test_an_empty_choice_is_refused(app_sample_ws):
    at = open_compare_tab()
    at.multiselect(key="train_compare_models").set_value([])
    at.button(key="train_compare_start").click()
    run(at)
    assert "Pick at least one model" in " ".join(e.value for e in at.error)
    assert not app_sample_ws.jobs(SAMPLE_NAME)


def test_failed_and_stopped_comparisons_say_so(compared_ws):
    ws, board = compared_ws
    failed = job_row(ws, "failed", message="No model could be trained (climatology: needs the seasonal inputs).")
    at = open_page("train")
    errors = " ".join(e.value for e in at.error).replace("\\", "")
    assert f"comparison (job #{failed}" in errors and "No model could be trained" in errors
    assert at.button(key="train_compare_start")  # the form is back for another try

    board["stopped_by_user"] = True
    board["models"] = board["models"][:2]
    stopped = job_row(ws, "stopped", board, "2 models compared", models=[*FAST, "lstm"])
    run(at)
    info = " ".join(i.value for i in at.info)
    assert f"job #{stopped}" in info and "stopped by you after 2 of 4 models" in info
    assert len(leaderboard(at)) == 2


def test_no_model_beating_persistence_is_a_warning(compared_ws):
    ws, board = compared_ws
    for row in board["models"]:
        row["val_skill"] = min(row["val_skill"], 0.0)
    board["verdict"] = verdict(board["models"])
    board["activated"] = None
    job_row(ws, "done", board, "3 models compared")
    at = open_page("train")
    warning = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "No model beats persistence" in warning
    assert "The active model was not changed" in texts(at)


# ---------------------------------------------------------------- Models and Forecast pages with zoo members


def test_models_page_names_the_model_of_each_version(compared_ws):
    """Versions saved by non-Keras members render, and say which model each one is."""
    ws, board = compared_ws
    at = open_page("models")
    table = at.dataframe[0].value
    by_version = dict(zip(table["Version"], table["Model"], strict=True))
    assert by_version == {r["version"]: r["label"] for r in board["models"]}
    assert any("Ridge regression" in o for o in at.selectbox(key="models_version").options)


def day_weight_bars(charts: list[dict]) -> list[dict]:
    """The bar traces with one bar per input day (14): the attention chart's."""
    return [d for c in charts for d in c["data"] if d.get("type") == "bar" and len(d.get("x") or []) == 14]


def test_forecast_with_a_non_keras_version_has_no_attention_section(compared_ws):
    ws, board = compared_ws
    at = open_page("forecast")
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(charts) == 2  # the forecast and the bands' recent record, no attention chart
    assert not day_weight_bars(charts)
    assert "Which past days mattered" not in texts(at)


@pytest.fixture(scope="module")
def attention_ws(tmp_path_factory) -> Path:
    """The sample reservoir with one tiny attention net as its active version."""
    root = tmp_path_factory.mktemp("attention") / "ws"
    ws = Workspace(root)
    add_sample(ws)
    model = ModelConfig(name="conv_lstm_attention", filters=8, units=8)
    train_reservoir(ws, SAMPLE_NAME, tiny_config(epochs=2, model=model))
    return root


def test_forecast_with_an_attention_net_shows_which_days_mattered(attention_ws, tmp_path, monkeypatch):
    private_copy(attention_ws, tmp_path, monkeypatch)
    at = open_page("forecast")
    assert "Which past days mattered" in texts(at)
    assert "14 days" in texts(at)
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(charts) == 3  # the forecast, the bands' recent record, the attention weights
    (bars,) = day_weight_bars(charts)
    assert sum(numbers(bars["y"])) == pytest.approx(100.0)
