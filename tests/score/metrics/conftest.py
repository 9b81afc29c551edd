"""Fixtures of the metric registry tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.score.metrics import metric_registry


@pytest.fixture
def clean_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """sys.path, the process-wide registry and the modules imported from ``tmp_path`` restored after
    the test: importing a user's module appends to the path and registers its metrics."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(metric_registry(), "_specs", dict(metric_registry()._specs))
    yield
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]
