"""The import graph of ``harness/``: no cycles, and nothing in score/, audit/, report/, gate.py imports train.

Every ``import`` statement counts, at module level or inside a function (and under
``TYPE_CHECKING``): a function-level import is still a dependency, only a later one.
An import of ``harness.x.y`` is an edge to that module when it is one, else to the
package ``harness.x`` (``y`` is a name in its ``__init__``); the implicit import of
parent packages is not an edge.
"""

from __future__ import annotations

import ast
import graphlib
import itertools
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
Graph = dict[str, set[str]]

# Layers that read results or data and must not depend on training.
NO_TRAIN = ("harness.score", "harness.audit", "harness.report", "harness.gate")


def modules(root: Path, package: str) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, whether it is a package's ``__init__``)."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return out


def imported(node: ast.Import | ast.ImportFrom, package: str, known: Mapping[str, object]) -> Iterator[str]:
    """The dotted names an import statement in ``package`` (the importer's package) refers to."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:  # relative: one level is the importer's own package
        parts = package.split(".")
        parts = parts[: len(parts) - node.level + 1]
        base = ".".join([*parts, *([node.module] if node.module else [])])
    for alias in node.names:
        yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base


def import_graph(root: Path, package: str) -> Graph:
    """Module -> the modules of ``package`` it imports."""
    known = modules(root, package)
    graph: Graph = {name: set() for name in known}
    for name, (path, is_package) in known.items():
        home = name if is_package else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in imported(node, home, known):
                while target and target not in known:  # harness.x.name -> harness.x
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Import cycles as paths ``[a, b, ..., a]`` (a imports b ...), until none is left."""
    remaining = {k: set(v) for k, v in graph.items()}
    found = []
    while True:
        try:
            graphlib.TopologicalSorter(remaining).prepare()  # node -> what it needs first
            return found
        except graphlib.CycleError as exc:
            # each node of exc.args[1] is needed by the next: reversed, each imports the next
            path = list(reversed(exc.args[1]))
            found.append(path)
            remaining[path[0]].discard(path[1])  # break it there and look for another


def forbidden_edges(graph: Mapping[str, set[str]], package: str) -> list[tuple[str, str]]:
    """Edges from the layers in NO_TRAIN (under ``package``) into ``package.train``."""
    layers = tuple(layer.replace("harness", package, 1) for layer in NO_TRAIN)
    train = f"{package}.train"

    def under(name: str, prefix: str) -> bool:
        return name == prefix or name.startswith(prefix + ".")

    return sorted((a, b) for a, targets in graph.items() for b in targets
                  if any(under(a, layer) for layer in layers) and under(b, train))


def test_harness_has_no_import_cycle() -> None:
    found = cycles(import_graph(ROOT, "harness"))
    assert not found, "import cycles: " + "; ".join(" -> ".join(c) for c in found)


def test_nothing_downstream_of_training_imports_train() -> None:
    found = forbidden_edges(import_graph(ROOT, "harness"), "harness")
    assert not found, "imports of harness.train from score/audit/report/gate: " + ", ".join(
        f"{a} -> {b}" for a, b in found)


def plant(root: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A package ``pkg`` whose a -> b -> c -> a cycle runs through a relative, a function-level and a
    name-from-package import, and whose score/ imports train/."""
    plant(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.sub import helper\n",  # a name in sub/__init__: an edge to pkg.sub
        "pkg/sub/__init__.py": "from .b import helper\n",
        "pkg/sub/b.py": "def helper() -> None:\n    from pkg import c\n",
        "pkg/c.py": "import pkg.a\n",
        "pkg/d.py": "from pkg.sub import b\n",  # a module: an edge to pkg.sub.b, not a cycle
        "pkg/score/__init__.py": "",
        "pkg/score/engine.py": "from ..train.sweep import run\n",
        "pkg/train/__init__.py": "",
        "pkg/train/sweep.py": "run = 1\n",
    })
    return tmp_path


def test_the_graph_resolves_relative_function_level_and_package_imports(planted: Path) -> None:
    graph = import_graph(planted, "pkg")
    assert graph["pkg.a"] == {"pkg.sub"} and graph["pkg.sub"] == {"pkg.sub.b"}
    assert graph["pkg.sub.b"] == {"pkg.c"} and graph["pkg.c"] == {"pkg.a"}
    assert graph["pkg.d"] == {"pkg.sub.b"} and graph["pkg.score.engine"] == {"pkg.train.sweep"}


def test_a_planted_cycle_and_a_planted_forbidden_edge_are_found(planted: Path) -> None:
    graph = import_graph(planted, "pkg")
    [cycle] = cycles(graph)
    assert cycle[0] == cycle[-1] and len(cycle) == 5
    assert {(a, b) for a, b in itertools.pairwise(cycle)} == {
        ("pkg.a", "pkg.sub"), ("pkg.sub", "pkg.sub.b"), ("pkg.sub.b", "pkg.c"), ("pkg.c", "pkg.a")}
    assert forbidden_edges(graph, "pkg") == [("pkg.score.engine", "pkg.train.sweep")]
    (planted / "pkg" / "c.py").write_text("")  # the cycle broken: none left
    assert cycles(import_graph(planted, "pkg")) == []
