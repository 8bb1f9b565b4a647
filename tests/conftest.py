"""Shared fixtures: a workspace with the sample reservoir, tiny training settings, the shared data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# No background training of the sample's first model at app start (tests/test_page_first_start.py turns it on).
os.environ.setdefault("SENTINEL_FIRST_MODEL", "0")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """The real reservoir records beside the repo; tests that need them skip when absent."""
    if not SHARED.exists():
        pytest.skip(f"shared data not found at {SHARED} (CI provides ../shared beside the clone)")
    return SHARED


@pytest.fixture
def workspace(tmp_path):
    """An empty workspace in a temp folder."""
    from core.store.workspace import Workspace

    return Workspace(tmp_path / "ws")


@pytest.fixture(scope="session")
def sample_workspace(tmp_path_factory):
    """A workspace holding the sample reservoir, shared by read-only tests (build once)."""
    from core.app.pipeline import add_sample
    from core.store.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("sample") / "ws")
    add_sample(ws)
    return ws


def tiny_config(target: str = "level", features: tuple[str, ...] = ("rainfall", "inflow"), **kw):
    """Training settings small enough for a test: a few epochs of a narrow net."""
    from core.model.config import ModelConfig, TrainConfig

    # The fastest net stands in for the default (tests/test_zoo_default.py and the first-start tests train that).
    base = dict(epochs=3, patience=2, batch_size=128, model=ModelConfig(name="conv1d", filters=8, units=8))
    base.update(kw)
    return TrainConfig(target=target, features=features, **base)


@pytest.fixture(scope="session")
def trained_sample(tmp_path_factory):
    """The sample reservoir with one tiny trained version (trained once per test session)."""
    from core.app.pipeline import add_sample, train_reservoir
    from core.data.sample import SAMPLE_NAME
    from core.store.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("trained") / "ws")
    add_sample(ws)
    outcome = train_reservoir(ws, SAMPLE_NAME, tiny_config())
    return ws, outcome


# ---------------------------------------------------------------- AppTest page tests (see tests/apptest_support.py)


@pytest.fixture
def fresh_caches():
    """Workspace objects, start-up, models and forecasts are cached per process; each page test starts clean."""
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def app_empty_ws(tmp_path, monkeypatch):
    """An empty workspace named to the app; the app's first start loads the sample reservoir (no model)."""
    from tests.apptest_support import use_workspace

    return use_workspace(tmp_path / "ws", monkeypatch)


@pytest.fixture
def app_sample_ws(tmp_path, monkeypatch):
    """A workspace already holding the sample reservoir, named to the app."""
    from core.app.pipeline import add_sample
    from tests.apptest_support import use_workspace

    ws = use_workspace(tmp_path / "ws", monkeypatch)
    add_sample(ws)
    return ws


@pytest.fixture
def app_trained_ws(trained_sample, tmp_path, monkeypatch):
    """A private copy of the tiny trained sample (a test may change it), named to the app."""
    from tests.apptest_support import private_copy

    ws, _ = trained_sample
    return private_copy(ws.root, tmp_path, monkeypatch)


@pytest.fixture
def receiver():
    """A local webhook receiver on 127.0.0.1 recording each POSTed JSON body (tests/notify_support.py)."""
    from tests.notify_support import Receiver

    r = Receiver()
    yield r
    r.stop()
