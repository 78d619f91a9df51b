"""The package's shape: no import circles between its modules, and no module too long to
read in one sitting (``tests/test_structure.py`` is the check the README names)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kdhelpers"
MAX_LINES = 300


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that ``path`` imports anywhere: at the top or in a function
    (an import deferred into a function still ties the two modules in a circle)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1 or node.module == "kdhelpers":
                found |= {alias.name for alias in node.names}
            elif node.module and node.module.startswith("kdhelpers."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[1] for alias in node.names
                      if alias.name.startswith("kdhelpers.")}
    return found & modules - {path.stem}


def import_graph() -> dict[str, set[str]]:
    paths = {p.stem: p for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    return {name: imports_of(path, set(paths)) for name, path in paths.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import path that comes back to where it started (depth-first search)."""
    found, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_the_circle_finder_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_reads_deferred_imports(tmp_path):
    (tmp_path / "one.py").write_text("def f():\n    from .two import g\n")
    assert imports_of(tmp_path / "one.py", {"one", "two"}) == {"two"}


def test_no_module_of_the_package_imports_itself_through_others():
    assert circles(import_graph()) == []


def test_every_module_fits_in_one_sitting():
    long = {p.name: n for p in PACKAGE.glob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these modules (over {MAX_LINES} lines): {long}"
