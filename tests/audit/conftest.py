"""Shared fixtures for the dataset audit tests: real Alpaca rows and real MMLU questions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from harness.audit import AuditParams, BenchmarkDoc, load_benchmark
from harness.audit.rows import Rows
from harness.data import load_records
from harness.data.record import ASSISTANT, USER, Record, Turn

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audit"


@pytest.fixture(scope="session")
def original() -> list[Record]:
    """The first 2000 rows of the original Stanford Alpaca data, as the audit reads them."""
    return load_records(FIXTURES / "alpaca_data_original_first2000.json")


@pytest.fixture(scope="module")
def rows(original: list[Record]) -> Rows:
    """``original`` as the train split's rows, the view a per-row check reads."""
    return Rows("train", original)


def make_records(pairs: Sequence[tuple[str, str]], source: str = "memory") -> list[Record]:
    return [Record(turns=(Turn(USER, p), Turn(ASSISTANT, r)), index=i, source=source, format="alpaca")
            for i, (p, r) in enumerate(pairs)]


@pytest.fixture(scope="session")
def alpaca_pairs() -> list[tuple[str, str]]:
    """200 real Alpaca (prompt, response) pairs; the first 200 rows hold no duplicates."""
    rows = json.loads((FIXTURES / "alpaca_en_demo_200.json").read_text(encoding="utf-8"))
    return [(r["instruction"] + ("\n\n" + r["input"] if r["input"].strip() else ""), r["output"])
            for r in rows]


@pytest.fixture(scope="session")
def mmlu_docs() -> list[BenchmarkDoc]:
    return load_benchmark("mmlu", FIXTURES / "mmlu")


@pytest.fixture
def params() -> AuditParams:
    return AuditParams(workers=1)


@pytest.fixture(scope="session")
def records_of():  # type: ignore[no-untyped-def]
    """``records_of(pairs)``: user/assistant records numbered 0.. (what loaders produce)."""
    return make_records
