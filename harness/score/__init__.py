"""Scoring base vs fine-tuned: generation metrics, format compliance, perplexity, MMLU via lm-eval,
paired statistics, and a cache keyed by the weights. :func:`evaluate` is the entry point.

The engine is imported on first use, so importing a light module (``harness.score.exact``) does
not pull in torch and transformers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.score.engine import SCORER_VERSION, Evaluation, evaluate

__all__ = ["SCORER_VERSION", "Evaluation", "evaluate"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from harness.score import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'harness.score' has no attribute {name!r}")
