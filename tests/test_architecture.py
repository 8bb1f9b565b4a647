"""The house rules that keep core/ navigable: role packages, no import cycles, no streamlit, small files."""

from __future__ import annotations

import ast
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "core"
MAX_LINES = 800


def _module_name(path: Path) -> str:
    """Dotted module name of a file under core/."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    """True for `if TYPE_CHECKING:` blocks, whose imports never run."""
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(tree: ast.AST, module: str) -> set[str]:
    """Every core module a file imports at run time (top level or inside functions)."""
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names if a.name.startswith("core"))
            elif isinstance(child, ast.ImportFrom) and child.module and child.module.startswith("core"):
                found.add(child.module)
                found.update(f"{child.module}.{a.name}" for a in child.names)
            stack.append(child)
    return found


def _graph() -> dict[str, set[str]]:
    """Module -> the core modules it imports (names that are not modules are dropped)."""
    files = {_module_name(p): p for p in CORE.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        deps = {d for d in _imports(ast.parse(path.read_text()), name) if d in files and d != name}
        graph[name] = deps - {"core"}
    return graph


def test_core_is_split_into_role_packages():
    packages = sorted(p.parent.name for p in CORE.glob("*/__init__.py"))
    assert {"data", "model", "forecast", "store", "charts", "export", "app"} <= set(packages)


def test_no_import_cycle_among_core_modules():
    try:
        list(TopologicalSorter(_graph()).static_order())
    except CycleError as exc:  # pragma: no cover - the message names the cycle
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None


def test_core_never_imports_streamlit():
    offenders = [p.name for p in CORE.rglob("*.py") if "import streamlit" in p.read_text()]
    assert offenders == []


def test_no_source_file_is_past_the_size_limit():
    sources = [*CORE.rglob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "app.py"]
    big = {str(p.relative_to(ROOT)): n for p in sources if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert big == {}


def test_cli_help_does_not_import_tensorflow():
    code = (
        "import sys, runpy\n"
        "sys.argv = ['core', '--help']\n"
        "try:\n    runpy.run_module('core', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False False"
