"""Train/eval leakage per eval row: exact, near duplicate and 13-gram, on prompt, response and record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.audit import AuditParams, run_audit
from harness.results import AuditResult, Finding


def leaks(result: AuditResult) -> dict[int, Finding]:
    out = {}
    for f in result.findings:
        if f.check == "leakage":
            assert f.severity == "error" and f.refs[0].split == "eval"
            out[f.refs[0].index] = f
    return out


def kinds(f: Finding) -> set[tuple[Any, ...]]:
    return {(m["train"], m["how"], m["field"]) for m in f.details["matches"]}


def test_copied_edited_and_embedded_eval_rows(alpaca_pairs: list[tuple[str, str]], records_of: Callable,
                                              params: AuditParams) -> None:
    train_pairs, eval_pairs = list(alpaca_pairs[:120]), list(alpaca_pairs[120:170])
    by_len = sorted(range(len(eval_pairs)), key=lambda i: -len(eval_pairs[i][1].split()))
    copied, edited, answered = by_len[0], by_len[1], by_len[2]
    train_pairs.append(eval_pairs[copied])  # train 120: exact copy of an eval row
    p, r = eval_pairs[edited]
    words = r.split(" ")
    for k in (len(words) // 4, len(words) // 2):
        words[k] = "edited"
    train_pairs.append((p.replace(".", "!"), " ".join(words)))  # 121: lightly edited
    span = " ".join(eval_pairs[answered][1].split()[5:30])
    host_p, host_r = train_pairs[10]
    train_pairs[10] = (host_p, host_r + "\n\n" + span)  # 10: an eval answer span pasted into a response
    result = run_audit(records_of(train_pairs), records_of(eval_pairs), params=params, progress=False)
    found = leaks(result)
    assert set(found) == {copied, edited, answered}
    assert {(120, "exact", "record"), (120, "exact", "response")} <= kinds(found[copied])
    assert [r.index for r in found[copied].refs if r.split == "train"] == [120]
    assert (121, "near_duplicate", "response") in kinds(found[edited])
    assert (121, "ngram", "record") in kinds(found[edited])
    near = next(m for m in found[edited].details["matches"] if m["how"] == "near_duplicate")
    assert 0.8 <= near["jaccard"] < 1
    assert (10, "ngram", "response") in kinds(found[answered])
    gram = next(m for m in found[answered].details["matches"] if m["field"] == "response")
    assert gram["shared_ngrams"] >= 10 and len(gram["ngrams"][0].split()) == 13
    assert gram["ngrams"][0] in " ".join(span.lower().replace(",", " ").replace(".", " ").split())
    members = found[answered].details["members"]
    assert (members[0]["split"], members[0]["index"]) == ("eval", answered)
    assert (members[1]["split"], members[1]["index"]) == ("train", 10)


def test_disjoint_real_rows_do_not_leak(alpaca_pairs: list[tuple[str, str]], records_of: Callable,
                                        params: AuditParams) -> None:
    result = run_audit(records_of(alpaca_pairs[:150]), records_of(alpaca_pairs[150:]), params=params,
                       progress=False)
    assert leaks(result) == {}
    run = next(c for c in result.checks if c.check == "leakage")
    assert run.params["ngram"] == 13 and run.params["fields"] == ["record", "prompt", "response"]


def test_short_labels_and_boilerplate_are_not_leakage(alpaca_pairs: list[tuple[str, str]],
                                                      records_of: Callable, params: AuditParams) -> None:
    template = ("Below is an instruction that describes a task. Write a response that appropriately "
                "completes the request.\n\n")
    train = [(template + p, "Positive") for p, _ in alpaca_pairs[:100]]
    evals = [(template + p, "Positive") for p, _ in alpaca_pairs[100:130]]
    result = run_audit(records_of(train), records_of(evals), params=params, progress=False)
    assert leaks(result) == {}
    stats = next(c for c in result.checks if c.check == "leakage").params["stats"]["fields"]
    assert stats["prompt"]["boilerplate_grams"] > 0


def test_no_eval_set_still_reports_the_check(alpaca_pairs: list[tuple[str, str]], records_of: Callable,
                                             params: AuditParams) -> None:
    result = run_audit(records_of(alpaca_pairs[:20]), params=params, progress=False)
    run = next(c for c in result.checks if c.check == "leakage")
    assert run.params["skipped"] == "no eval set" and run.findings == 0
