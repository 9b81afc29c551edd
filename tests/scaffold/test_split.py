"""The held-out split: sized, seeded, duplicates on one side, and clean by the audit's leakage check."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from harness.audit import AuditParams, run_audit
from harness.data.record import ASSISTANT, USER, Record, Turn
from harness.errors import DataError
from harness.scaffold.split import eval_size, held_out_split

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "audit" / "alpaca_en_demo_200.json"


def _records() -> list[Record]:
    rows = json.loads(FIXTURE.read_text(encoding="utf-8"))
    pairs = [(r["instruction"] + ("\n\n" + r["input"] if r["input"].strip() else ""), r["output"])
             for r in rows]
    # plant copies: rows 0-29 appear again (lightly edited) as rows 200-229, so 30 duplicate clusters
    pairs += [(p + " Please.", r) for p, r in pairs[:30]]
    return [Record(turns=(Turn(USER, p), Turn(ASSISTANT, r)), index=i, source="alpaca", format="alpaca")
            for i, (p, r) in enumerate(pairs)]


def test_split_keeps_duplicates_together_and_passes_the_leakage_check() -> None:
    records = _records()
    params = AuditParams(workers=1)
    split = held_out_split(records, seed=3, params=params)
    assert sorted(split.train + split.eval) == list(range(len(records)))
    assert 0 < len(split.eval) <= eval_size(len(records)) == 23
    assert split.clusters >= 15  # most planted pairs are near duplicates (short ones fall under 0.8)
    for a in range(30):  # a planted pair never straddles the split
        assert (a in split.eval) == (a + 200 in split.eval)
    renumber = [[dataclasses.replace(records[p], index=i) for i, p in enumerate(side)]
                for side in (split.train, split.eval)]
    audit = run_audit(renumber[0], renumber[1], params=params, progress=False)
    assert audit.count(check="leakage") == 0
    assert held_out_split(records, seed=3, params=params) == split  # deterministic
    assert held_out_split(records, seed=4, params=params).eval != split.eval


def test_too_few_rows_is_a_one_line_error() -> None:
    with pytest.raises(DataError, match=r"59 rows are too few to hold out an eval set \(need 60\)"):
        eval_size(59, "train.jsonl")
    assert eval_size(60) == 20 and eval_size(1000) == 100 and eval_size(100_000) == 500
