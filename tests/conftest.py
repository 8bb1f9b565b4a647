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

# ---------------------------------------------------------------- lanes: `make test-fast` runs `pytest -m "not slow"`
# A test is `slow` when it trains a Keras net, starts the app server, a browser, Ray or cycle workers, or takes more
# than about SLOW_SECONDS. Marked by module (`pytestmark`) or test; a test using a training fixture and every browser
# (`e2e`) test is marked here. A test that is not marked and still builds a Keras net to train in this process
# fails (a check, not a clock); one that is merely slow is listed at the end of the run.
SLOW_SECONDS = 2.0
TRAINING_FIXTURES = frozenset({"trained_sample"})  # each trains a Keras net (once per session)
_running: list[pytest.Item] = []  # the test whose setup, call or teardown is under way
_fast_seconds: dict[str, float] = {}  # fast-lane test -> seconds (setup + call + teardown)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow: every test using a training fixture, and every browser test."""
    for item in items:
        if TRAINING_FIXTURES & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    """Remember which test runs, for the training check below."""
    _running.append(item)
    try:
        return (yield)
    finally:
        _running.pop()


def pytest_configure(config: pytest.Config) -> None:
    """Building a Keras net to train (every Keras member, the ensemble included, starts from KerasNet.fresh) inside a
    test not marked slow fails that test, naming the marker: the fast lane never trains."""
    from core.model.zoo.keras_net import KerasNet

    fresh = KerasNet.fresh.__func__

    def checked_fresh(cls, member, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202 - KerasNet.fresh's own
        if _running and _running[-1].get_closest_marker("slow") is None:
            pytest.fail(
                f"{_running[-1].nodeid} trains a Keras net ({member.name}) but is not marked slow: add "
                "@pytest.mark.slow (or a module pytestmark) so `make test-fast` stays fast",
                pytrace=False,
            )
        return fresh(cls, member, *args, **kwargs)

    KerasNet.fresh = classmethod(checked_fresh)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Time each fast-lane test, for the list at the end."""
    if "slow" not in report.keywords:
        _fast_seconds[report.nodeid] = _fast_seconds.get(report.nodeid, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # noqa: ANN001
    """List the fast-lane tests over SLOW_SECONDS (this machine, this run): candidates for the slow marker."""
    over = sorted(((s, n) for n, s in _fast_seconds.items() if s > SLOW_SECONDS), reverse=True)
    if over:
        terminalreporter.section(f"fast-lane tests over {SLOW_SECONDS:g} s (mark them slow if they stay so)")
        for seconds, nodeid in over:
            terminalreporter.write_line(f"{seconds:6.1f} s  {nodeid}")


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
