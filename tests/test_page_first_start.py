"""A forecast on first start (issue 10, part 5): an empty workspace gets the sample reservoir AND a background training
job of the default model; the Overview and Forecast pages say the first model is training, then show its forecast
with bands. The job is registered by the app, then run in this process with tiny settings (core.app.jobs.run_job)."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import pytest

import core.app.jobs
from core.app.jobs import FIRST_ONLY, first_model_config, run_job, start_first_model
from core.app.pipeline import default_features
from core.data.sample import SAMPLE_NAME
from core.model.config import DEFAULT_MODEL
from core.store.workspace import Workspace
from tests.apptest_support import run, start_app, texts

pytestmark = [pytest.mark.usefixtures("fresh_caches"), pytest.mark.slow]  # AppTest runs that train the first model


@pytest.fixture
def first_start(monkeypatch) -> list[int]:
    """First-start training on (conftest turns it off), launched nowhere, and tiny: the test runs the job itself."""
    monkeypatch.setenv("SENTINEL_FIRST_MODEL", "1")
    real = core.app.jobs.first_model_config
    launched: list[int] = []

    def tiny(ws: Workspace, reservoir: str):
        config = real(ws, reservoir)
        return replace(config, epochs=2, batch_size=256, model=replace(config.model, filters=8, units=8))

    def fake_launch(ws: Workspace, job_id: int) -> int:
        launched.append(job_id)
        return os.getpid()

    monkeypatch.setattr(core.app.jobs, "first_model_config", tiny)
    monkeypatch.setattr(core.app.jobs, "_launch", fake_launch)
    return launched


def test_an_empty_workspace_gets_the_sample_a_first_model_and_then_a_forecast(app_empty_ws, first_start):
    ws = app_empty_ws
    at = start_app()
    assert [r.name for r in ws.reservoirs()] == [SAMPLE_NAME]
    (job_id,) = first_start
    job = ws.job(job_id)
    assert job.kind == "train" and job.reservoir == SAMPLE_NAME and job.params["activate"] == FIRST_ONLY
    assert job.config["model"]["name"] == DEFAULT_MODEL and job.config["target"] == "level"
    assert f"Training the first model (job #{job_id})" in texts(at)  # the Overview card

    at.switch_page("pages/forecast.py")
    run(at)
    assert "Training the first model..." in texts(at, ("info",))
    assert not at.get("plotly_chart")

    run_job(ws, job_id)
    assert ws.version(SAMPLE_NAME).version == 1  # the first model became active by itself
    run(at)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = [t.get("name") for t in spec["data"]]
    assert "forecast" in names and any(str(n).endswith("% band") for n in names), names
    assert "Training the first model" not in texts(at)

    start_app()  # another visit (or a server restart) never starts a second first model
    assert len(ws.jobs(SAMPLE_NAME)) == 1 and first_start == [job_id]


def test_first_start_can_be_turned_off(app_empty_ws, monkeypatch):
    monkeypatch.setenv("SENTINEL_FIRST_MODEL", "0")
    start_app()
    assert [r.name for r in app_empty_ws.reservoirs()] == [SAMPLE_NAME]
    assert not app_empty_ws.jobs(SAMPLE_NAME)


def test_first_model_settings_and_when_it_is_started(app_trained_ws, sample_workspace, monkeypatch):
    config = first_model_config(sample_workspace, SAMPLE_NAME)
    assert config.model.name == DEFAULT_MODEL and config.target == "level"
    assert config.features == default_features(sample_workspace, SAMPLE_NAME, "level")
    assert start_first_model(app_trained_ws, SAMPLE_NAME) is None  # it has a model already
