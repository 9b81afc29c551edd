"""Benchmark contamination: MMLU items in train or eval rows, by 13-gram, 8-gram of short parts, exact."""

from __future__ import annotations

from collections.abc import Callable

from harness.audit import AuditParams, BenchmarkDoc, run_audit
from harness.audit.benchmarks import mmlu_text
from harness.results import AuditResult, Finding


def contaminated(result: AuditResult) -> dict[tuple[str, int], Finding]:
    return {(f.refs[0].split, f.refs[0].index): f for f in result.findings if f.check == "contamination"}


def test_inserted_mmlu_items_are_found(alpaca_pairs: list[tuple[str, str]], mmlu_docs: list[BenchmarkDoc],
                                       records_of: Callable, params: AuditParams) -> None:
    long_q = next(d for d in mmlu_docs if len(d.parts[0].split()) >= 20)
    short_q = next(d for d in mmlu_docs if 9 <= len(d.parts[0].split()) <= 11)
    exact_q = next(d for d in mmlu_docs if 6 <= len(d.parts[0].split()) <= 7)
    train = list(alpaca_pairs[:80])
    train[3] = (mmlu_text(long_q.parts[0], long_q.parts[1:]) + "\nAnswer:", long_q.answer or "")
    train[9] = ("Quiz time! " + short_q.parts[0] + " Explain.", train[9][1])
    train[20] = (exact_q.parts[0], "I think the answer is the second option.")
    evals = list(alpaca_pairs[80:100])
    evals[4] = ("Answer this. " + long_q.parts[0], "no idea")
    result = run_audit(records_of(train), records_of(evals), benchmarks={"mmlu": mmlu_docs},
                       params=params, progress=False)
    found = contaminated(result)
    assert set(found) == {("train", 3), ("train", 9), ("train", 20), ("eval", 4)}
    for key, doc in ((("train", 3), long_q), (("train", 9), short_q), (("train", 20), exact_q),
                     (("eval", 4), long_q)):
        f = found[key]
        assert f.severity == "error" and f.details["benchmark"] == "mmlu"
        assert doc.index in [r.index for r in f.refs if r.split == "benchmark"]
    assert "ngram" in found[("train", 3)].details["how"]
    assert "exact question" in found[("train", 20)].details["how"]
    short = found[("train", 9)].details["docs"][0]
    assert short["id"] == short_q.id and len(short["ngrams"][0].split()) == 8
    members = found[("train", 3)].details["members"]
    assert members[0]["index"] == 3 and members[1]["split"] == "benchmark"


def test_clean_rows_are_not_contaminated(alpaca_pairs: list[tuple[str, str]], mmlu_docs: list[BenchmarkDoc],
                                         records_of: Callable, params: AuditParams) -> None:
    result = run_audit(records_of(alpaca_pairs), benchmarks={"mmlu": mmlu_docs}, params=params,
                       progress=False)
    assert contaminated(result) == {}
    run = next(c for c in result.checks if c.check == "contamination")
    assert run.params["benchmarks"]["mmlu"]["docs"] == len(mmlu_docs) == 379


def test_no_benchmark_still_reports_the_check(alpaca_pairs: list[tuple[str, str]], records_of: Callable,
                                              params: AuditParams) -> None:
    result = run_audit(records_of(alpaca_pairs[:10]), params=params, progress=False)
    run = next(c for c in result.checks if c.check == "contamination")
    assert run.params["skipped"] == "no benchmark given"
