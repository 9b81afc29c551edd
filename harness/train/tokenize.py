"""Tokenize a dataset once per sweep, with the shared assistant-only labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from harness.data.labels import RenderError, label_records
from harness.data.record import Record


@dataclass(frozen=True)
class Tokenized:
    """Rows ready for the trainer, plus what was left out and why."""

    input_ids: list[list[int]]
    labels: list[list[int]]
    skipped: dict[int, str]  # record index -> reason

    @property
    def tokens(self) -> int:
        return sum(len(x) for x in self.input_ids)

    @cached_property
    def dataset(self) -> Any:
        """The trainer's dataset, built once per sweep and shared by every trial."""
        from datasets import Dataset

        return Dataset.from_dict({"input_ids": self.input_ids, "labels": self.labels})


def tokenize_records(tokenizer: Any, records: Sequence[Record], max_len: int) -> Tokenized:
    ids: list[list[int]] = []
    labels: list[list[int]] = []
    skipped: dict[int, str] = {}
    for rec, lab in zip(records, label_records(tokenizer, records, max_len), strict=True):
        if isinstance(lab, RenderError):
            skipped[rec.index] = f"template error: {lab}"
            continue
        if lab.loss_tokens == 0:
            # Nothing to learn (empty target, or the response was cut away by truncation).
            skipped[rec.index] = "no loss tokens"
            continue
        ids.append(lab.input_ids)
        labels.append(lab.labels)
    return Tokenized(ids, labels, skipped)
