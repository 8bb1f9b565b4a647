"""The house rules that keep core/ navigable: role packages, layers that only point down (imports inside functions
included), no import cycles, no streamlit, small files."""

from __future__ import annotations

import ast
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "core"
MAX_LINES = 800
# The package order, bottom first (ARCHITECTURE.md): a package imports only packages of lower layers. Packages in
# one layer never import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core", "core.jsonio", "core.digest", "core.display"),
    ("core.auth",),
    ("core.data",),
    ("core.model",),
    ("core.registry",),
    ("core.store",),
    ("core.forecast",),
    ("core.charts",),
    ("core.export",),
    ("core.notify",),
    ("core.app",),
    ("core.fleet",),
    ("core.cli",),
    ("core.__main__",),
    ("pages",),
    ("app",),  # app.py routes to the pages
)
# Core modules that are heavy libraries themselves (they subclass Keras layers at import), so they stay imported
# inside the functions that build or load a Keras model; every other core module is imported at the top.
HEAVY_MODULES = {"core.model.layers"}


def _module_name(path: Path) -> str:
    """Dotted module name of a file under core/."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    """True for `if TYPE_CHECKING:` blocks, whose imports never run."""
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _ours(module: str) -> bool:
    """A module of this project (core/, pages/, app.py), not a library."""
    return module.split(".")[0] in ("core", "pages", "app")


def _imports(tree: ast.AST, module: str) -> set[str]:
    """Every project module a file imports at run time (top level or inside functions)."""
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names if _ours(a.name))
            elif isinstance(child, ast.ImportFrom) and child.module and _ours(child.module):
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


def _package(module: str) -> str:
    """The layer unit a module belongs to: core.<package>, a core leaf module, or pages/app."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "core" else parts[0]


def _sources() -> dict[str, Path]:
    """Every source file of core/, pages/ and app.py by module name."""
    found = {_module_name(p): p for p in CORE.rglob("*.py")}
    found.update({f"pages.{p.stem}": p for p in (ROOT / "pages").glob("*.py")})
    found["app"] = ROOT / "app.py"
    return found


def _function_imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every core module imported inside a function."""
    out = []
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "core":
                    out.append((node.lineno, node.module))
                elif isinstance(node, ast.Import):
                    out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "core"]
    return out


def test_packages_only_import_lower_layers():
    """The package graph, imports inside functions included (only `if TYPE_CHECKING:` blocks excepted): every edge
    points down the layer list, so there is no upward edge and no cycle between packages."""
    layer = {pkg: i for i, pkgs in enumerate(LAYERS) for pkg in pkgs}
    sources = _sources()
    assert {_package(m) for m in sources} <= set(layer), "add each new package to LAYERS and ARCHITECTURE.md"
    wrong = []
    for name, path in sources.items():
        source = _package(name)
        for target in sorted(_imports(ast.parse(path.read_text()), name)):
            dest = _package(target)
            if dest != source and dest in layer and layer[dest] >= layer[source]:
                wrong.append(f"{name} imports {target} ({source} may only import layers below it)")
    assert wrong == []


def _package_graph() -> dict[str, set[str]]:
    """Package -> the packages it imports (core/, pages/, app.py), imports inside functions included."""
    graph: dict[str, set[str]] = {}
    for name, path in _sources().items():
        source = _package(name)
        targets = {_package(t) for t in _imports(ast.parse(path.read_text()), name)}
        graph.setdefault(source, set()).update(targets - {source})
    return graph


def _assert_acyclic(graph: dict[str, set[str]], what: str) -> None:
    """Fail naming the cycle when the graph has one."""
    try:
        list(TopologicalSorter(graph).static_order())
    except CycleError as exc:  # pragma: no cover - the message names the cycle
        raise AssertionError(f"{what} cycle: {' -> '.join(exc.args[1])}") from None


def test_no_cycle_between_packages():
    """However the layer list is edited, two packages never import each other, even through a third."""
    _assert_acyclic(_package_graph(), "package")


def test_the_layer_test_sees_imports_inside_functions():
    """The graph includes a function-level import (the one way an upward edge used to hide)."""
    tree = ast.parse("def f():\n    from core.cli.main import main\n")
    assert _imports(tree, "core.store.x") == {"core.cli.main", "core.cli.main.main"}
    assert _imports(ast.parse("def f():\n    import pages.common\n"), "core.x") == {"pages.common"}  # core -> pages


def test_no_core_module_is_imported_inside_a_function_but_heavy_ones():
    """Core modules are imported at the top; only modules that load Keras at import stay inside functions."""
    lazy = [
        f"{path.relative_to(ROOT)}:{line} {module}"
        for path in _sources().values()
        for line, module in _function_imports(ast.parse(path.read_text()))
        if module not in HEAVY_MODULES
    ]
    assert lazy == []


def test_core_is_split_into_role_packages():
    packages = sorted(p.parent.name for p in CORE.glob("*/__init__.py"))
    expected = {"data", "model", "registry", "forecast", "store", "charts", "export", "app", "fleet", "cli"}
    assert expected <= set(packages)


def test_no_import_cycle_among_core_modules():
    _assert_acyclic(_graph(), "import")


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
