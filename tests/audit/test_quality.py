"""Target defects: empty, one-word among long, length outliers, JSON and label-set format outliers."""

from __future__ import annotations

import json
from collections.abc import Callable

from harness.audit import AuditParams, run_audit
from harness.results import AuditResult


def flagged(result: AuditResult, check: str) -> list[int]:
    return sorted(r.index for f in result.findings if f.check == check for r in f.refs)


def test_empty_short_and_long_targets(alpaca_pairs: list[tuple[str, str]], records_of: Callable,
                                      params: AuditParams) -> None:
    pairs = [(p, r) for p, r in alpaca_pairs if len(r.split()) > 20][:100]
    pairs[4] = (pairs[4][0], "")
    pairs[9] = (pairs[9][0], " \n\t ")
    pairs[17] = (pairs[17][0], "Yes.")
    pairs[30] = (pairs[30][0], " ".join(r for _, r in alpaca_pairs[:60]))  # thousands of words
    result = run_audit(records_of(pairs), params=params, progress=False)
    assert flagged(result, "empty_target") == [4, 9]
    assert all(f.severity == "error" for f in result.findings if f.check == "empty_target")
    assert flagged(result, "short_target") == [17]
    assert 30 in flagged(result, "length_outlier")
    assert 4 not in flagged(result, "length_outlier")
    outlier = next(f for f in result.findings if f.check == "length_outlier" and f.refs[0].index == 30)
    assert outlier.severity == "warning" and outlier.details["z"] > 3.5


def test_clean_real_targets_have_few_outliers(alpaca_pairs: list[tuple[str, str]], records_of: Callable,
                                              params: AuditParams) -> None:
    result = run_audit(records_of(alpaca_pairs), params=params, progress=False)
    assert flagged(result, "empty_target") == []
    assert flagged(result, "format_outlier") == []
    assert len(flagged(result, "length_outlier")) <= 2  # log-length z keeps real long answers in


def test_json_format_outliers_with_parse_errors(alpaca_pairs: list[tuple[str, str]], records_of: Callable,
                                               params: AuditParams) -> None:
    pairs = [(p, json.dumps({"answer": r[:80], "words": len(r.split())})) for p, r in alpaca_pairs[:50]]
    pairs[3] = (pairs[3][0], pairs[3][1][:-1])  # truncated: no closing brace
    pairs[8] = (pairs[8][0], pairs[8][1].replace('"answer"', "'answer'"))  # single quotes
    pairs[12] = (pairs[12][0], "[1, 2]")  # JSON, but not an object
    result = run_audit(records_of(pairs), params=params, progress=False)
    assert flagged(result, "format_outlier") == [3, 8, 12]
    errors = {f.refs[0].index: f.details["error"] for f in result.findings if f.check == "format_outlier"}
    assert "Expecting" in errors[3] and "column" in errors[3]
    assert "property name" in errors[8]
    assert errors[12] == "parses as list, not an object"
    run = next(c for c in result.checks if c.check == "format_outlier")
    assert run.params["train"]["format"] == "json_object"


def test_label_set_outliers(alpaca_pairs: list[tuple[str, str]], records_of: Callable,
                            params: AuditParams) -> None:
    labels = ["positive", "negative", "neutral"]
    pairs = [(p, labels[i % 3]) for i, (p, _) in enumerate(alpaca_pairs[:60])]
    pairs[5] = (pairs[5][0], "The sentiment is positive because the author likes it.")
    pairs[6] = (pairs[6][0], "Positive")  # case differs: same label after normalization
    result = run_audit(records_of(pairs), params=params, progress=False)
    assert flagged(result, "format_outlier") == [5]
    run = next(c for c in result.checks if c.check == "format_outlier")
    assert run.params["train"]["labels"] == ["negative", "neutral", "positive"]
    assert flagged(result, "short_target") == []  # median target is one word: rule does not apply
