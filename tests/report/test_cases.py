"""Verdicts as named cases: the plugin's names, its outcomes, comparison_outcome for comparisons."""

from __future__ import annotations

from factories import make_run

from harness.report.cases import audit_cases, run_cases


def test_names_and_outcomes_of_a_failing_run() -> None:
    results, _ = make_run(passed=False)
    cases = {c.name: c for c in run_cases(results)}
    assert list(cases) == [
        "audit[leakage]", "audit[near_duplicates]", "audit[contamination]",
        "gate[exact_match >= 0.5]", "gate[general_perplexity.delta < 100]",
        "compare[exact_match r8]", "compare[general_perplexity r8]", "compare[exact_match r4]",
    ]
    assert cases["audit[leakage]"].outcome == "fail"
    assert "1 error findings" in cases["audit[leakage]"].message and "eval row 3 leaks" in cases[
        "audit[leakage]"].message
    assert cases["audit[near_duplicates]"].outcome == "pass"  # warnings do not fail a check
    assert cases["audit[contamination]"].detail == "no benchmark given"
    assert cases["gate[general_perplexity.delta < 100]"].outcome == "fail"
    assert cases["compare[exact_match r8]"].outcome == "pass"
    # perplexity (lower is better) rose with confidence: the selected candidate fails ...
    assert cases["compare[general_perplexity r8]"].outcome == "fail"
    # ... and another adapter's regression is skipped with the reason, as the plugin does
    skipped = cases["compare[exact_match r4]"]
    assert skipped.outcome == "skip" and skipped.message.startswith("not the selected candidate (r8)")


def test_tolerance_lets_a_comparison_pass() -> None:
    results, _ = make_run(passed=True)
    cases = {c.name: c for c in run_cases(results, {"general_perplexity": 200.0})}
    assert cases["compare[general_perplexity r8]"].outcome == "pass"
    assert all(c.outcome == "pass" for c in audit_cases(results.audit))
