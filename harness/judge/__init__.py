"""LLM-as-judge: rubrics from ``judges/``, backends from one registry (OpenAI / Anthropic / local
built in, users' own by name, entry point or ``module:Class``: :mod:`harness.judge.backends`),
pointwise and pairwise (both orders) protocols, cached, resumable, budgeted, calibrated.

Public API: :func:`run_judges` for eval outputs and :func:`review_dataset` for
the synthetic-data review in ``harness audit``. The scripted test server lives in
the opt-in :mod:`harness.testing.loopback`, outside the product.

The two entry points load lazily, so that ``harness.results`` can import the
judge result types without an import cycle (the review returns ``Finding``s).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.judge.config import JudgeConfig
from harness.judge.items import JudgeItem
from harness.judge.results import (
    Calibration,
    ItemVerdict,
    JudgeReport,
    JudgeRun,
    ModelScore,
    PairwiseStats,
)
from harness.judge.rubrics import Rubric, available_rubrics, load_rubric

if TYPE_CHECKING:
    from harness.judge.review import review_dataset
    from harness.judge.run import run_judges

_LAZY = {"run_judges": "harness.judge.run", "review_dataset": "harness.judge.review"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'harness.judge' has no attribute {name!r}")


__all__ = ["Calibration", "ItemVerdict", "JudgeConfig", "JudgeItem", "JudgeReport", "JudgeRun",
           "ModelScore", "PairwiseStats", "Rubric", "available_rubrics", "load_rubric", "review_dataset",
           "run_judges"]
