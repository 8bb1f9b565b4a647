"""The operator chooses, the app explains (issue 10, part 4), through the real app with AppTest: the model picker with
the recommended default first, the model named on the result, the job history, the Models page and the Overview
card; no silent activation by the dashboard's jobs (only a reservoir's first model becomes active by itself); and
the form's settings surviving a refresh, shared by the two tabs. Jobs run in this process (core.app.jobs.run_job)."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from core.app.jobs import FIRST_ONLY, resolve_activation, run_job
from core.app.trainsettings import SETTINGS_KEY, saved_settings
from core.data.sample import SAMPLE_NAME
from core.model.config import DEFAULT_MODEL
from core.model.zoo import MODEL_NAMES, ZOO
from core.store.workspace import Workspace
from tests.apptest_support import open_page, run, start_app, texts

pytestmark = [pytest.mark.usefixtures("fresh_caches"), pytest.mark.slow]  # AppTest runs that train or follow jobs


@pytest.fixture
def launched(monkeypatch) -> list[int]:
    """Jobs the page starts are registered but not launched as processes (the test runs them with run_job)."""
    import core.app.jobs

    ids: list[int] = []

    def fake_launch(ws: Workspace, job_id: int) -> int:
        ids.append(job_id)
        return os.getpid()  # alive, like a running job process

    monkeypatch.setattr(core.app.jobs, "_launch", fake_launch)
    return ids


def start_ridge(at, epochs: int = 2):
    """Pick Ridge regression on the 'Train one model' tab and press Start."""
    at.selectbox(key="train_model").set_value("ridge")
    at.number_input(key="train_epochs").set_value(epochs)
    run(at)
    at.button(key="train_start").click()
    return run(at)


def test_the_picker_lists_the_recommended_default_first(app_sample_ws):
    at = open_page("train")
    picker = at.selectbox(key="train_model")
    assert picker.value == DEFAULT_MODEL
    assert picker.options[0] == f"{ZOO[DEFAULT_MODEL].label} (recommended)"
    assert sorted(picker.options[1:]) == sorted(ZOO[n].label for n in MODEL_NAMES if n != DEFAULT_MODEL)
    assert "Ridge regression" in picker.help
    assert ZOO[DEFAULT_MODEL].description in texts(at)
    picker.set_value("persistence")
    run(at)
    assert "fitted in one go" in texts(at)  # its epoch settings do not apply, and the page says so


def test_a_later_run_is_recommended_not_activated(app_trained_ws, launched):
    """v1 active: a Ridge run saves v2, names it everywhere, and only the operator's click activates it."""
    ws = app_trained_ws
    at = start_ridge(open_page("train"))
    (job_id,) = launched
    job = ws.job(job_id)
    assert job.config["model"]["name"] == "ridge" and job.params["activate"] == FIRST_ONLY
    assert "Ridge regression, forecasting level" in texts(at)  # the running section names the model
    run_job(ws, job_id)
    assert ws.version(SAMPLE_NAME).version == 1, "the dashboard activated a model without the operator's click"

    run(at)
    page = texts(at)
    assert "Result: version 2 · Ridge regression" in page
    assert "never changes the model forecasts use without you" in page
    assert ("Recommended: activate version 2" in page) != ("keeping version 1 is recommended" in page)
    history = at.dataframe[-1].value
    assert list(history["Model"]) == ["Ridge regression"]
    at.button(key="train_activate").click()
    run(at)
    assert ws.version(SAMPLE_NAME).version == 2
    assert "Version 2 is the active model" in texts(at)

    models = open_page("models")
    shown = models.dataframe[0].value
    assert dict(zip(shown["Version"], shown["Model"], strict=True))[2] == "Ridge regression"
    assert any("Ridge regression" in e.label for e in models.expander)
    overview = start_app()
    assert "Model v2 · Ridge regression (level)" in texts(overview)


def test_the_first_model_becomes_active_and_the_page_says_why(app_sample_ws, launched):
    ws = app_sample_ws
    at = start_ridge(open_page("train"))
    run_job(ws, launched[0])
    assert ws.version(SAMPLE_NAME).version == 1
    run(at)
    assert "became active by itself as the first model of Sample Reservoir" in texts(at)
    assert not [b for b in at.button if b.key == "train_activate"]


def test_a_comparison_recommends_and_offers_activate(app_trained_ws, launched):
    """v1 active: the compared models are ranked and recommended; the active version stays until Activate."""
    ws = app_trained_ws
    at = open_page("train")
    at.session_state["train_mode"] = "Compare models"
    run(at)
    at.multiselect(key="train_compare_models").set_value(["persistence", "ridge"])
    run(at)
    at.button(key="train_compare_start").click()
    run(at)
    (job_id,) = launched
    assert ws.job(job_id).params["activate_best"] == FIRST_ONLY
    run_job(ws, job_id)
    board = ws.job(job_id).result
    assert board["activated"] is None and ws.version(SAMPLE_NAME).version == 1

    run(at)
    infos = texts(at, ("info",))
    best = board["models"][0]
    assert f"Recommended: activate {best['label']} (version {best['version']})" in infos or (
        "The active model was not changed (version 1 is active)" in infos
    )
    assert at.selectbox(key="train_compare_version").value == best["version"]  # the recommendation is picked
    at.button(key="train_compare_activate").click()
    run(at)
    assert ws.version(SAMPLE_NAME).version == best["version"]


def test_dashboard_activation_rule(app_trained_ws, sample_workspace):
    """FIRST_ONLY activates only a reservoir without an active model; the CLI's True/False/None pass through."""
    assert resolve_activation(sample_workspace, SAMPLE_NAME, FIRST_ONLY) is True
    assert resolve_activation(app_trained_ws, SAMPLE_NAME, FIRST_ONLY) is False
    assert [resolve_activation(app_trained_ws, SAMPLE_NAME, v) for v in (True, False, None)] == [True, False, None]


def test_settings_survive_a_refresh_and_are_shared_by_both_tabs(app_sample_ws):
    ws = app_sample_ws
    at = open_page("train")
    at.selectbox(key="train_model").set_value("ridge")
    at.selectbox(key="train_target").set_value("storage")
    assert at.number_input(key="train_lr").value is None  # empty: the model's own learning rate
    run(at)
    at.number_input(key="train_lr").set_value(5e-4)
    at.multiselect(key="train_features").set_value(["inflow"])
    at.number_input(key="train_n_steps").set_value(21)
    at.number_input(key="train_horizon").set_value(5)
    at.number_input(key="train_epochs").set_value(3)
    at.date_input(key="train_test_from").set_value(dt.date(2020, 1, 1))
    run(at)
    saved = saved_settings(ws, SAMPLE_NAME)
    assert (saved.model.name, saved.target, saved.features) == ("ridge", "storage", ("inflow",))
    assert (saved.n_steps, saved.horizon, saved.epochs, saved.split.test_from) == (21, 5, 3, "2020-01-01")
    assert saved.learning_rate == pytest.approx(5e-4)

    again = open_page("train")  # a browser refresh: a new session, nothing in session_state
    assert again.selectbox(key="train_model").value == "ridge"
    assert again.selectbox(key="train_target").value == "storage"
    assert again.multiselect(key="train_features").value == ["inflow"]
    assert [again.number_input(key=f"train_{k}").value for k in ("n_steps", "horizon", "epochs")] == [21, 5, 3]
    assert again.number_input(key="train_lr").value == pytest.approx(5e-4)
    assert again.date_input(key="train_test_from").value == dt.date(2020, 1, 1)

    again.session_state["train_mode"] = "Compare models"
    run(again)
    assert again.selectbox(key="train_target").value == "storage"  # the other tab starts from the same settings
    assert [again.number_input(key=f"train_{k}").value for k in ("n_steps", "horizon")] == [21, 5]
    again.number_input(key="train_horizon").set_value(9)
    run(again)
    assert saved_settings(ws, SAMPLE_NAME).horizon == 9
    assert saved_settings(ws, SAMPLE_NAME).model.name == "ridge"  # the comparison keeps the picked model

    third = open_page("train")
    assert third.number_input(key="train_horizon").value == 9


def test_unreadable_or_out_of_range_settings_fall_back_to_defaults(app_sample_ws):
    ws = app_sample_ws
    ws.set_meta(SAMPLE_NAME, SETTINGS_KEY, {"target": "level", "bogus": 1})
    at = open_page("train")
    assert at.number_input(key="train_n_steps").value == 14 and at.selectbox(key="train_model").value == DEFAULT_MODEL

    ws.set_meta(SAMPLE_NAME, SETTINGS_KEY, {"target": "gone", "n_steps": 9999, "model": {"name": "nope"}})
    at = open_page("train")
    assert at.selectbox(key="train_target").value == "level"
    assert at.number_input(key="train_n_steps").value == 365
    assert at.selectbox(key="train_model").value == DEFAULT_MODEL
