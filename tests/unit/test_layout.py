"""The package's layout: imports go one way (no cycle), compiled code stays small and pure."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "jetliner"
CIMPORT = re.compile(r"^\s*(?:from\s+jetliner\.(\w+)\s+c?import|c?import\s+jetliner\.(\w+))",
                     re.MULTILINE)


def _modules() -> dict[str, Path]:
    files = [*PACKAGE.glob("*.py"), *PACKAGE.glob("*.pyx"), *PACKAGE.glob("*.pxd")]
    return {("__init__" if f.stem == "__init__" else f.stem): f for f in files}


def _imports(path: Path, known: set[str]) -> set[str]:
    """Modules of the package that `path` imports anywhere (lazily or not, typing-only too)."""
    text = path.read_text()
    if path.suffix != ".py":
        return {a or b for a, b in CIMPORT.findall(text)} & known
    found: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "jetliner":
                    found.add(parts[1] if len(parts) > 1 else "__init__")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "jetliner":
                continue
            if len(parts) > 1:
                found.add(parts[1])
            else:  # from jetliner import x: a submodule, or a name of the package
                found.update(a.name if a.name in known else "__init__" for a in node.names)
    return found & known


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, set(modules)) - {name} for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_the_package_has_no_import_cycle() -> None:
    graph = _graph()
    assert {"readers", "sources", "resolve", "scan"} <= set(graph)  # the walk sees modules
    cycle = _cycle(graph)
    assert cycle is None, f"import cycle: {' -> '.join(cycle or [])}"


def test_the_cycle_check_finds_a_cycle() -> None:
    # the checker itself, on a graph with a cycle three modules long
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_lower_layers_do_not_import_the_api() -> None:
    graph = _graph()
    api = {"readers", "scan", "cli", "ray", "query", "__init__"}
    for low in ("sources", "stream", "remote", "storage", "splits", "resolve", "container",
                "codecs", "schema", "frames", "threads"):
        assert not graph[low] & api, f"{low} imports {graph[low] & api}"


def test_compiled_code_imports_neither_polars_nor_fsspec() -> None:
    for path in [*PACKAGE.glob("*.pyx"), *PACKAGE.glob("*.pxd")]:
        text = path.read_text()
        assert not re.search(r"^\s*(from|import)\s+(polars|fsspec)\b", text, re.MULTILINE), path
def test_no_source_file_is_over_1200_lines() -> None:
    sources = [p for ext in ("py", "pyx", "pxd", "c", "h") for p in PACKAGE.glob(f"*.{ext}")]
    long = {p.name: n for p in sources
            if (n := len(p.read_text().splitlines())) > 1200
            and not (p.suffix == ".c" and p.with_suffix(".pyx").exists())}  # Cython's output
    assert not long
