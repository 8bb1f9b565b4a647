"""The app shell every page goes through: pages/common.ensure_shell (a bookmarked page URL after a server start still
runs app.py) fails safe when the Streamlit internal it flips changes or goes, and every page file ends alike."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest
from streamlit.runtime import pages_manager

from pages import common

ROOT = Path(__file__).resolve().parents[1]
FLAG = common.SHELL_FLAG


@pytest.fixture
def calls(monkeypatch):
    """Record what ensure_shell would do to the running script instead of doing it; warnings start afresh."""
    seen: list[tuple] = []
    monkeypatch.setattr(common.runpy, "run_path", lambda path, run_name: seen.append(("run_path", path, run_name)))
    monkeypatch.setattr(common.st, "stop", lambda: seen.append(("stop",)))
    common._warn_no_shell_fix.cache_clear()
    yield seen
    common._warn_no_shell_fix.cache_clear()


def shell_warnings(caplog) -> list[str]:
    """The warnings ensure_shell logged."""
    return [r.getMessage() for r in caplog.records if r.name == common.__name__ and r.levelno == logging.WARNING]


def test_old_multipage_mode_reruns_through_app_py(monkeypatch, calls):
    """Streamlit ran a page file on its own: the mode is switched off, app.py runs in its place, the stray run stops."""
    monkeypatch.setattr(pages_manager.PagesManager, FLAG, True)
    common.ensure_shell()
    assert getattr(pages_manager.PagesManager, FLAG) is False
    assert calls == [("run_path", str(common.APP_PATH), "__main__"), ("stop",)]


@pytest.mark.parametrize("flag", [False, None])
def test_run_through_app_py_already_leaves_the_page_alone(monkeypatch, calls, flag):
    """st.navigation already runs the page (or Streamlit has not decided yet): nothing to do."""
    monkeypatch.setattr(pages_manager.PagesManager, FLAG, flag)
    common.ensure_shell()
    assert calls == []
    assert getattr(pages_manager.PagesManager, FLAG) is flag


def test_a_streamlit_without_the_flag_renders_the_page_and_warns_once(monkeypatch, calls, caplog):
    """The internal is gone: no exception, the page renders as it is, and the server log says why, once."""
    monkeypatch.delattr(pages_manager.PagesManager, FLAG)
    with caplog.at_level(logging.WARNING, logger=common.__name__):
        common.ensure_shell()
        common.ensure_shell()
    assert calls == []
    (warning,) = shell_warnings(caplog)
    assert f"PagesManager.{FLAG} is gone" in warning and "bookmarked page URL" in warning


def test_a_streamlit_without_the_pages_manager_renders_the_page(monkeypatch, calls, caplog):
    """The whole module (or its class) is gone: the same quiet fallback."""
    monkeypatch.setattr(common, "streamlit_pages", None)
    with caplog.at_level(logging.WARNING, logger=common.__name__):
        common.ensure_shell()
    assert calls == []
    (warning,) = shell_warnings(caplog)
    assert "PagesManager is gone" in warning


class _ReadOnly:
    """A PagesManager stand-in whose flag reads as on but cannot be switched off."""

    @property
    def uses_pages_directory(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("manager", "says"),
    [(_ReadOnly(), "cannot be set"), (type("Changed", (), {FLAG: "pages"}), "no longer a flag")],
)
def test_a_changed_flag_renders_the_page_and_warns(monkeypatch, calls, caplog, manager, says):
    """The flag is still there but read-only, or no longer a bool: never an exception, never a half-done switch."""
    monkeypatch.setattr(pages_manager, "PagesManager", manager)
    with caplog.at_level(logging.WARNING, logger=common.__name__):
        common.ensure_shell()
    assert calls == []
    (warning,) = shell_warnings(caplog)
    assert says in warning


def test_run_page_draws_the_page_after_the_shell_check(monkeypatch, calls):
    """The shared page ending: ensure_shell, then the page's render()."""
    monkeypatch.setattr(pages_manager.PagesManager, FLAG, False)
    drawn = []
    common.run_page(lambda: drawn.append("page"))
    assert drawn == ["page"] and calls == []


def _page_files() -> list[Path]:
    """The page files app.py routes to (st.Page("pages/<name>.py", ...))."""
    tree = ast.parse((ROOT / "app.py").read_text())
    paths = [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page" and node.args
    ]
    assert len(paths) == 9, paths  # the 6 pages, Alerts + Settings (notifications), Users & activity (admin)
    return [ROOT / p for p in paths]


@pytest.mark.parametrize("path", _page_files(), ids=lambda p: p.stem)
def test_every_page_ends_alike_and_draws_nothing_on_import(path):
    """Each page ends with `if __name__ == "__main__": ui.run_page(render)` and calls nothing else at module level."""
    tree = ast.parse(path.read_text())
    *body, last = tree.body
    assert ast.unparse(last) == "if __name__ == '__main__':\n    ui.run_page(render)"
    calls_at_import = [ast.unparse(n) for n in body if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)]
    assert calls_at_import == []
    assert any(isinstance(n, ast.FunctionDef) and n.name == "render" for n in body)
