"""Metrics: one registry of specs (built-ins and users' own), the ``@metric`` decorator and ``Score``.

Importing this package registers the built-ins (:mod:`harness.score.metrics.builtin`) first, so a
user's metric can never take a built-in's name. Light: no torch, no transformers.
"""

from __future__ import annotations

from harness.errors import MetricError
from harness.score.metrics import builtin as _builtin  # noqa: F401  (registers the built-ins)
from harness.score.metrics.registry import (
    DuplicateMetricError,
    MetricRegistry,
    UnknownMetricError,
    metric,
    metric_registry,
)
from harness.score.metrics.spec import MetricItem, MetricSettings, MetricSpec, Score

__all__ = ["DuplicateMetricError", "MetricError", "MetricItem", "MetricRegistry", "MetricSettings",
           "MetricSpec", "Score", "UnknownMetricError", "metric", "metric_registry"]
