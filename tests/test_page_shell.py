"""The app shell every page goes through: a module under pages/ that Streamlit runs on its own (its old pages/
discovery, on the first request after a server start) runs app.py instead, through Streamlit's public API only; and
every module under pages/ ends alike."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pages import common

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def calls(monkeypatch):
    """Record what run_page would do to the running script instead of doing it."""
    seen: list[tuple] = []
    monkeypatch.setattr(common.runpy, "run_path", lambda path, run_name: seen.append(("run_path", path, run_name)))
    monkeypatch.setattr(common.st, "stop", lambda: seen.append(("stop",)))
    return seen


def test_a_page_run_on_its_own_runs_app_py_instead(calls):
    """Streamlit ran a page file directly: app.py runs in its place (its st.navigation opens the page), then stop."""
    drawn = []
    common.run_page(lambda: drawn.append("page"))
    assert calls[:2] == [("run_path", str(common.APP_PATH), "__main__"), ("stop",)]


def test_inside_app_py_the_page_draws(calls):
    """app.py runs the page inside common.shell(): the page's render() and nothing else."""
    drawn = []
    with common.shell():
        common.run_page(lambda: drawn.append("page"))
        common.run_page()  # a section module inside the shell: nothing to draw
    assert drawn == ["page"] and calls == []
    common.run_page(lambda: drawn.append("again"))  # the shell ended with the with-block
    assert calls[0][0] == "run_path"


def test_no_streamlit_internal_is_patched():
    """The old fix flipped streamlit.runtime.pages_manager.PagesManager.uses_pages_directory; nothing under pages/
    or app.py reaches into Streamlit's internals any more."""
    sources = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
    for path in sources:
        text = path.read_text()
        assert "streamlit.runtime" not in text and "uses_pages_directory" not in text, path.name


@pytest.mark.parametrize("path", sorted((ROOT / "pages").glob("[!_]*.py")), ids=lambda p: p.stem)
def test_no_module_under_pages_runs_on_its_own(path):
    """Streamlit's discovery would run any file in pages/: each one ends by handing over to the app."""
    tree = ast.parse(path.read_text())
    last = tree.body[-1]
    assert isinstance(last, ast.If) and ast.unparse(last.test) == "__name__ == '__main__'", path.name
    assert "run_page(" in ast.unparse(last), path.name


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
