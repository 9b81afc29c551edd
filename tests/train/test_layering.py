"""Training sits below nothing: scoring, audit, reports and gates never import it; train/ has no cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import harness

PACKAGE = Path(harness.__file__).resolve().parent
DOWNSTREAM_OF_TRAINING = ("score", "audit", "report", "gate.py")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def harness_imports(path: Path) -> set[str]:
    """The harness modules a file imports, lazily or not."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("harness"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.update({node.module} if node.module.startswith("harness") else set())
    return found


def test_nothing_downstream_imports_training() -> None:
    offenders = [
        f"{module_name(path)} -> {target}"
        for name in DOWNSTREAM_OF_TRAINING
        for path in ([PACKAGE / name] if name.endswith(".py") else sorted((PACKAGE / name).rglob("*.py")))
        for target in sorted(harness_imports(path))
        if target == "harness.train" or target.startswith("harness.train.")
    ]
    assert not offenders


def test_training_modules_import_no_cycle() -> None:
    graph = {module_name(p): {t for t in harness_imports(p) if t.startswith("harness.train.")}
             for p in sorted((PACKAGE / "train").glob("*.py"))}
    assert {"harness.train.sweep", "harness.train.executors", "harness.train.ray_executor"} <= set(graph)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, set()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    assert not [m for m in graph if reaches(m, m, set())]
