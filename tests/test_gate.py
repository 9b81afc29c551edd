from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.gate import evaluate_gates, parse_gate
from harness.results import AuditResult, CheckRun, Comparison, Finding, Ref, RunResults


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
