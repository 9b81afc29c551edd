"""The loopback judge server is an opt-in test aid: no product module imports ``harness.testing``."""

from __future__ import annotations

import ast
from pathlib import Path

import harness

PACKAGE = Path(harness.__file__).resolve().parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return names


def test_no_product_module_imports_the_test_aids() -> None:
    product = [p for p in PACKAGE.rglob("*.py") if "testing" not in p.relative_to(PACKAGE).parts]
    assert len(product) > 40  # the walk really saw the package
    offenders = sorted(str(p.relative_to(PACKAGE)) for p in product
                       if any(m == "harness.testing" or m.startswith("harness.testing.")
                              for m in imported_modules(p)))
    assert offenders == []


def test_the_loopback_server_lives_in_the_opt_in_package() -> None:
    from harness.testing.loopback import LoopbackJudge

    assert LoopbackJudge.__module__ == "harness.testing.loopback"
    assert not (PACKAGE / "judge" / "loopback.py").exists()
