from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.gate import comparison_outcome, evaluate_gates, parse_gate
from harness.results import (
    AuditResult,
    BaselineComparison,
    BaselineMetric,
    CheckRun,
    Comparison,
    Finding,
    Ref,
    RepeatRun,
    RunResults,
)


def results() -> RunResults:
    comp = Comparison(
        metric="exact_match",
        base="base",
        candidate="ft",
        base_value=0.1,
        candidate_value=0.6,
        delta=0.5,
        ci_low=0.3,
        ci_high=0.7,
        p_value=0.001,
        n=40,
    )
    mmlu = Comparison(
        metric="mmlu",
        base="base",
        candidate="ft",
        base_value=30,
        candidate_value=27,
        delta=-3,
        ci_low=-6,
        ci_high=0.5,
        n=96,
    )
    audit = AuditResult(
        findings=[Finding(check="leakage", severity="error", message="x", refs=[Ref(split="eval", index=1)])],
        checks=[CheckRun(check="leakage"), CheckRun(check="exact_duplicates")],
    )
    return RunResults(
        suite="s",
        models={"base": {"exact_match": 0.1}, "ft": {"exact_match": 0.6}},
        comparisons=[comp, mmlu],
        audit=audit,
        candidate="ft",
    )


@pytest.mark.parametrize(
    ("expr", "passed", "observed"),
    [
        ("exact_match >= 0.5", True, 0.6),
        ("exact_match >= 0.8", False, 0.6),
        ("base:exact_match <= 0.1", True, 0.1),
        ("exact_match.delta > 0", True, 0.5),
        ("exact_match.delta.ci_low > 0.4", False, 0.3),
        ("mmlu.delta.ci_low > -2.0", False, -6.0),
        ("mmlu.delta.p_value < 0.05", False, None),
        ("audit.errors == 0", False, 1.0),
        ("no error findings", False, 1.0),
        ("audit.exact_duplicates == 0", True, 0.0),
        ("audit.contamination == 0", False, None),
        ("rouge_l >= 0", False, None),
    ],
)
def test_gates(expr: str, passed: bool, observed: float | None) -> None:
    (g,) = evaluate_gates(results(), [expr])
    assert g.passed is passed
    assert g.observed == observed
    if observed is None:
        assert g.message.startswith("cannot evaluate")


def test_unreadable_gate_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"gates: cannot read gate"):
        parse_gate("exact_match is great")


def repeated(values: list[float], ppl: list[float]) -> RunResults:
    """Three sampled scoring repeats of the candidate (exact match varies; a perplexity too)."""
    runs = [
        RepeatRun(seed=k, models={"base": {"exact_match": 0.1}, "ft": {"exact_match": v, "ppl": p}})
        for k, (v, p) in enumerate(zip(values, ppl, strict=True))
    ]
    mean = {"exact_match": sum(values) / len(values), "ppl": sum(ppl) / len(ppl)}
    return RunResults(
        suite="s", models={"base": {"exact_match": 0.1}, "ft": mean}, candidate="ft", repeats=runs
    )


def test_repeats_a_threshold_inside_the_noise_fails_every_time_and_reports_pass_n() -> None:
    res = repeated([0.78, 0.82, 0.80], [10.0, 10.0, 10.0])
    near, clear = evaluate_gates(res, ["exact_match >= 0.79", "exact_match >= 0.7"])
    # mean 0.80 passes 0.79 on its own, but not by 2 standard errors (sd 0.02 -> margin 0.023)
    assert near.observed == pytest.approx(0.80) and not near.passed
    assert near.spread == pytest.approx(0.02) and near.margin == pytest.approx(2 * 0.02 / 3**0.5)
    assert (near.passes, near.repeats, near.flaky) == (2, 3, True)
    assert "held in 2/3" in near.message
    assert clear.passed and (clear.passes, clear.flaky) == (3, False)
    # a looser noise setting lets the borderline gate through
    assert evaluate_gates(res, ["exact_match >= 0.79"], noise_z=0.0)[0].passed


def test_repeats_margin_works_against_upper_bounds_and_zero_spread() -> None:
    res = repeated([0.8, 0.8, 0.8], [10.0, 12.0, 14.0])
    upper, steady = evaluate_gates(res, ["ppl <= 13", "exact_match >= 0.8"])
    assert not upper.passed and upper.observed == pytest.approx(12.0) and upper.passes == 2
    assert steady.passed and steady.margin == 0.0 and steady.passes == 3


def test_results_spread_is_the_repeats_standard_deviation() -> None:
    res = repeated([0.78, 0.82, 0.80], [10.0, 10.0, 10.0])
    assert res.spread("ft", "exact_match") == pytest.approx(0.02)
    assert res.spread("ft", "ppl") == 0.0 and results().spread("ft", "exact_match") is None


def against_baseline(**update: object) -> RunResults:
    """The candidate against an accepted baseline: exact match paired over 40 items, mmlu unpaired."""
    em = BaselineMetric(
        metric="exact_match",
        baseline_value=0.6,
        current_value=0.55,
        delta=-0.05,
        ci_low=-0.15,
        ci_high=0.05,
        p_value=0.5,
        n=40,
        regressed=["eval/3", "eval/9"],
        improved=["eval/1"],
    )
    mmlu = BaselineMetric(metric="mmlu", baseline_value=30, current_value=31, delta=1)
    comp = BaselineComparison(
        lock="reports/baseline.lock.json",
        comparable=True,
        paired=True,
        metrics=[em, mmlu],
        accept_command="harness baseline accept reports/x",
    )
    return results().model_copy(update={"baseline": comp.model_copy(update=update)})


@pytest.mark.parametrize(
    ("expr", "passed", "observed"),
    [
        ("baseline.exact_match >= 0", False, -0.05),
        ("baseline.exact_match.delta >= -0.1", True, -0.05),
        ("baseline.exact_match.delta.ci_low > -0.2", True, -0.15),
        ("baseline.exact_match.ci_high <= 0", False, 0.05),
        ("baseline.exact_match.p_value < 0.05", False, 0.5),
        ("baseline.regressed == 0", False, 2.0),
        ("baseline.improved >= 1", True, 1.0),
        ("baseline.exact_match.regressed <= 2", True, 2.0),
        ("baseline.mmlu.delta > 0", True, 1.0),
        ("baseline.mmlu.ci_low > -2", False, None),  # unpaired: no interval
        ("baseline.mmlu.regressed == 0", False, None),
        ("baseline.rouge_l >= 0", False, None),
        ("baseline.exact_match.spread < 1", False, None),
    ],
)
def test_baseline_gates(expr: str, passed: bool, observed: float | None) -> None:
    (g,) = evaluate_gates(against_baseline(), [expr])
    assert (g.passed, g.observed) == (passed, observed), g.message
    if observed is None:
        assert g.message.startswith("cannot evaluate")


def test_baseline_gates_when_refused_missing_or_absent() -> None:
    gate = ["baseline.exact_match.delta >= 0"]
    note = "baseline refused: data:eval 1234abcd->5678ef90 changed since it was accepted"
    changed = ["data:eval 1234abcd->5678ef90"]
    refused = against_baseline(comparable=False, metrics=[], changed=changed, note=note)
    (g,) = evaluate_gates(refused, gate)
    assert not g.passed and g.message == f"cannot evaluate: {note}"
    first_run = against_baseline(found=False, comparable=False, note="no baseline at L")
    (skipped,) = evaluate_gates(first_run, gate)
    assert skipped.passed and skipped.observed is None
    assert skipped.message == "passed, not evaluated: no baseline at L"
    missing = against_baseline(found=False, comparable=False, note="no baseline at L", required=True)
    (required,) = evaluate_gates(missing, gate)
    assert not required.passed
    assert required.message == "cannot evaluate: no baseline at L (baseline.required is true)"
    (absent,) = evaluate_gates(results(), ["baseline.regressed == 0"])
    assert not absent.passed and "no baseline comparison" in absent.message


def test_only_the_selected_candidate_can_fail_a_comparison() -> None:
    res = results()  # candidate "ft"; its exact_match is better than base
    better = res.delta("exact_match")
    assert comparison_outcome(res, better, 0.0) == ("pass", "")
    worse = better.model_copy(update={"candidate": "other", "delta": -0.4, "ci_low": -0.6, "ci_high": -0.2})
    outcome, why = comparison_outcome(res, worse, 0.0)
    assert outcome == "skip" and why.startswith("not the selected candidate (ft): other regressed")
    selected = worse.model_copy(update={"candidate": "ft"})
    assert comparison_outcome(res, selected, 0.0)[0] == "fail"
    assert comparison_outcome(res, selected, 0.25)[0] == "pass"  # within tolerance: CI high -0.2 > -0.25
    ppl = res.delta("mmlu").model_copy(update={"higher_is_better": False, "ci_low": 1.0, "ci_high": 5.0})
    assert comparison_outcome(res, ppl, 0.5)[0] == "fail" and comparison_outcome(res, ppl, 2.0)[0] == "pass"


def with_template(findings: int) -> RunResults:
    from harness.results import StopStats, TemplateInfo, TemplateParity

    stops = [StopStats(model="base", items=40, stopped=0, end_of_turn=0, unterminated=40, max_new_tokens=40),
             StopStats(model="ft", items=40, stopped=39, end_of_turn=38, unterminated=1, max_new_tokens=40)]
    found = [Finding(check="parity_generation_prompt", severity="error", message="x")] * findings
    info = TemplateInfo(source="tokenizer", template_sha256="0" * 64)
    template = TemplateParity(template=info, compared=40, findings=found, stops=stops)
    return results().model_copy(update={"template": template})


@pytest.mark.parametrize(
    ("expr", "findings", "passed", "observed"),
    [
        ("template.parity == 0", 0, True, 0.0),
        ("template.parity == 0", 2, False, 2.0),
        ("template.compared >= 40", 0, True, 40.0),
        ("template.unterminated <= 1", 0, True, 1.0),
        ("template.stop_rate >= 0.95", 0, True, 39 / 40),
        ("template.end_of_turn_rate >= 0.96", 0, False, 38 / 40),
        ("base:template.stop_rate >= 0.5", 0, False, 0.0),
        ("template.bogus == 0", 0, False, None),
        ("other:template.stop_rate >= 0", 0, False, None),
    ],
)
def test_template_gates(expr: str, findings: int, passed: bool, observed: float | None) -> None:
    (g,) = evaluate_gates(with_template(findings), [expr])
    assert (g.passed, g.observed) == (passed, observed), g.message


def test_template_gate_without_a_template_section_cannot_be_evaluated() -> None:
    (g,) = evaluate_gates(results(), ["template.parity == 0"])
    assert not g.passed and "no template section" in g.message

def test_an_interval_over_too_few_items_fails_its_gate_saying_n_is_too_small() -> None:
    one = Comparison(metric="exact_match", base="base", candidate="ft", base_value=0.0, candidate_value=1.0,
                     delta=1.0, ci_low=1.0, ci_high=1.0, n=1)
    res = RunResults(suite="s", models={"base": {"exact_match": 0.0}, "ft": {"exact_match": 1.0}},
                     comparisons=[one], candidate="ft")
    low, high, delta = evaluate_gates(res, ["exact_match.delta.ci_low > 0", "exact_match.delta.ci_high < 2",
                                            "exact_match.delta > 0"])
    for gate in (low, high):
        assert not gate.passed
        assert gate.message == ("cannot evaluate: exact_match: n too small: n=1 is too small for a "
                                "confidence interval (needs at least 5 paired items)")
    assert delta.passed  # the delta itself is what it is
