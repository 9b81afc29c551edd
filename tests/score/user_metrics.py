"""Metrics of a user's own, defined the way a team would (``@harness.metric`` in their module), for the
tests that select them from a suite as ``user_metrics:<function>``."""

from __future__ import annotations

import json
from typing import Any

from harness import MetricItem, Score, metric


def _object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text.strip())
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


@metric(higher_is_better=True)
def name_correct(output: str, reference: str) -> Score:
    """The output is a JSON object naming the reference's character."""
    got, want = _object(output), _object(reference)
    if got is None:
        return Score(False, "not a JSON object")
    if want is None or got.get("name") != want.get("name"):
        return Score(False, f"name {got.get('name')!r}, expected {want.get('name') if want else None!r}")
    return Score(True)


@metric
def key_recall(output: str, item: MetricItem) -> float:
    """Share of the reference's key/value pairs the output's JSON object holds (0, 0.5 or 1 here)."""
    got, want = _object(output) or {}, _object(item.reference) or {}
    return sum(got.get(k) == v for k, v in want.items()) / len(want) if want else 0.0


def not_a_metric(output: str) -> float:
    return float(bool(output))
