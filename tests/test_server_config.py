"""Server hardening, asserted on the EFFECTIVE Streamlit config (issue 13.4): what `streamlit run app.py` from the
repo root gets after reading .streamlit/config.toml, not what the file seems to say."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit import config

REPO = Path(__file__).resolve().parents[1]
UPLOAD_LIMIT_MB = 100  # what the importer handles in bounded memory; see the comment in .streamlit/config.toml

EXPECTED = {
    "server.enableXsrfProtection": True,
    "server.enableCORS": True,
    "server.fileWatcherType": "none",  # inotify overflows flood the log on a busy workspace
    "server.address": "127.0.0.1",  # a single-user local tool unless sign-in is configured
    "server.headless": True,
    "server.runOnSave": False,
    "server.enableStaticServing": False,
    "browser.gatherUsageStats": False,
    "client.showErrorDetails": "none",  # no tracebacks (paths, code) in the browser
}


@pytest.fixture()
def effective(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Parse the config as `streamlit run` does from the repo root, with no STREAMLIT_* overrides from the shell."""
    for name in list(os.environ):
        if name.startswith("STREAMLIT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(REPO)
    config.get_config_options(force_reparse=True)
    yield
    monkeypatch.undo()
    config.get_config_options(force_reparse=True)


@pytest.mark.parametrize(("option", "value"), sorted(EXPECTED.items()))
def test_hardening_option_holds(effective: None, option: str, value: object) -> None:
    assert config.get_option(option) == value, f"{option} regressed; see .streamlit/config.toml"


def test_only_local_host_headers_are_accepted(effective: None) -> None:
    hosts = set(config.get_option("server.allowedHosts"))
    assert hosts and hosts <= {"localhost", "127.0.0.1", "::1"}, hosts  # never "*" (DNS rebinding)
    assert not config.get_option("server.corsAllowedOrigins")


def test_upload_limit_matches_the_importer(effective: None) -> None:
    assert config.get_option("server.maxUploadSize") == UPLOAD_LIMIT_MB


def test_the_values_come_from_the_project_file(effective: None) -> None:
    # the defaults would pass some checks by luck: the address and hosts only hold if the file is read
    assert config.get_where_defined("server.address").endswith(str(Path(".streamlit") / "config.toml"))
    assert config.get_where_defined("server.allowedHosts").endswith("config.toml")


def test_the_secrets_file_is_never_committed() -> None:
    """The README says never commit .streamlit/secrets.toml (the OIDC client and cookie secrets): git ignores it."""
    lines = {line.strip() for line in (REPO / ".gitignore").read_text().splitlines()}
    assert ".streamlit/secrets.toml" in lines
