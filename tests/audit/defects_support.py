"""Shared by the per-row check tests: the original Alpaca rows, and running one check on a few rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.audit.checks import resolve
from harness.audit.rows import CheckOutput, Hit, Rows
from harness.data.record import ASSISTANT, USER, Record, Turn
from harness.results import Finding

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audit"
ORIGINAL = FIXTURES / "alpaca_data_original_first2000.json"


def flagged(name: str, rows: Rows, **params: Any) -> set[int]:
    """Record indices the check named ``name`` flags on ``rows``."""
    out = resolve(name)(rows, params)
    hits = list(out.hits) if isinstance(out, CheckOutput) else list(out)
    return {rows.index(h.pos) for h in hits if isinstance(h, Hit)} | \
        {r.index for h in hits if isinstance(h, Finding) for r in h.refs}


def with_target(record: Record, response: str) -> Record:
    """``record`` with its final assistant turn replaced."""
    turns = list(record.turns)
    turns[-1] = Turn(ASSISTANT, response)
    return replace(record, turns=tuple(turns))


def with_prompt(record: Record, prompt: str) -> Record:
    turns = [t for t in record.turns if t.role != USER]
    return replace(record, turns=(Turn(USER, prompt), *turns))


def rows_of(records: Sequence[Record]) -> Rows:
    return Rows("train", [replace(r, index=i) for i, r in enumerate(records)])
