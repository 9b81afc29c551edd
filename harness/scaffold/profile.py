"""What a dataset asks of a suite: its format, its size, and the shape of its targets.

The task shape decides the metrics ``harness init`` proposes:

* ``json``: nearly every target is a JSON object -> the ``json`` metric with the keys
  most objects have (``score.json_keys``), exact match reported beside it;
* ``labels``: short targets from a small set (at most ``LABEL_SET_MAX`` distinct,
  median at most ``LABEL_WORDS`` words) -> exact match;
* ``free_text``: anything else -> perplexity on the eval responses, and a judge stub.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from harness.data.record import Record

Shape = Literal["json", "labels", "free_text"]
JSON_SHARE = 0.9  # targets that must be JSON objects for the json shape
KEY_SHARE = 0.9  # a key is required when this share of the objects has it
LABEL_SET_MAX = 20
LABEL_WORDS = 3


@dataclass(frozen=True)
class DataProfile:
    """The train file as ``harness init`` sees it."""

    format: str
    rows: int
    shape: Shape
    json_keys: tuple[str, ...]  # json shape: the keys most targets have, in first-seen order
    labels: tuple[str, ...]  # labels shape: the label set, most frequent first
    median_target_words: float
    system_turns: int  # records with a system turn (the template must support one)

    def describe(self) -> str:
        what = {"json": f"JSON objects with keys {', '.join(self.json_keys) or '(none common)'}",
                "labels": f"{len(self.labels)} labels ({', '.join(self.labels[:5])}"
                          f"{', ...' if len(self.labels) > 5 else ''})",
                "free_text": f"free text (median {self.median_target_words:g} words)"}[self.shape]
        return f"format {self.format}, {self.rows} rows, targets: {what}"


def _json_object(text: str) -> dict[str, object] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def common_keys(objects: Sequence[dict[str, object]], share: float = KEY_SHARE) -> tuple[str, ...]:
    """Keys present in at least ``share`` of the objects, in the order they are first seen."""
    counts: Counter[str] = Counter(k for obj in objects for k in obj)
    order = list(dict.fromkeys(k for obj in objects for k in obj))
    return tuple(k for k in order if counts[k] >= share * len(objects))


def task_shape(targets: Sequence[str]) -> tuple[Shape, tuple[str, ...], tuple[str, ...]]:
    """(shape, json keys, labels) of the targets (see the module docstring)."""
    stripped = [t.strip() for t in targets if t.strip()]
    if not stripped:
        return "free_text", (), ()
    objects = [o for o in map(_json_object, stripped) if o is not None]
    if len(objects) >= JSON_SHARE * len(stripped):
        return "json", common_keys(objects), ()
    counts = Counter(stripped)
    words = statistics.median(len(t.split()) for t in stripped)
    if len(counts) <= LABEL_SET_MAX and words <= LABEL_WORDS:
        return "labels", (), tuple(label for label, _ in counts.most_common())
    return "free_text", (), ()


def profile(records: Sequence[Record]) -> DataProfile:
    """Profile the train records (loaded by :func:`harness.data.load_records`)."""
    targets = [r.response for r in records]
    shape, keys, labels = task_shape(targets)
    median = statistics.median(len(t.split()) for t in targets) if targets else 0.0
    return DataProfile(format=records[0].format if records else "unknown", rows=len(records), shape=shape,
                       json_keys=keys, labels=labels, median_target_words=float(median),
                       system_turns=sum(any(t.role == "system" for t in r.turns) for r in records))


__all__ = ["DataProfile", "Shape", "common_keys", "profile", "task_shape"]
