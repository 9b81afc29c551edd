from __future__ import annotations

import math

import pytest

from harness.score.compare import ItemValues, aggregate, compare
from harness.score.metrics import MetricSpec, metric_registry
from harness.score.stats import mcnemar_from_counts


def spec(name: str) -> MetricSpec:
    return metric_registry().get(name)


def test_binary_flips_and_mcnemar() -> None:
    base = ItemValues({"a": 1, "b": 1, "c": 0, "d": 0, "e": 1})
    cand = ItemValues({"a": 1, "b": 0, "c": 1, "d": 1, "e": 1})
    c = compare(spec("exact_match"), "base", base, "x", cand, resamples=500, confidence=0.9)
    assert (c.regressed, c.improved) == (["b"], ["c", "d"])
    assert c.base_value == 0.6 and c.candidate_value == 0.8 and c.delta == pytest.approx(0.2)
    assert c.p_value == mcnemar_from_counts(1, 2) and c.n == 5


def test_continuous_flips_use_the_margin() -> None:
    base = ItemValues({"a": 0.5, "b": 0.5, "c": 0.5})
    cand = ItemValues({"a": 0.45, "b": 0.3, "c": 0.75})  # -0.05 (within 0.1), -0.2, +0.25
    c = compare(spec("f1"), "base", base, "x", cand, resamples=300, confidence=0.95)
    assert (c.regressed, c.improved) == (["b"], ["c"])
    assert c.p_value is not None and 0 < c.p_value <= 1


def test_perplexity_is_token_weighted_and_lower_is_better() -> None:
    ppl = spec("eval_perplexity")
    base = ItemValues({"a": 2.0, "b": 30.0}, {"a": 2.0, "b": 10.0})  # mean NLL/token 1.0 and 3.0
    cand = ItemValues({"a": 2.0, "b": 10.0}, {"a": 2.0, "b": 10.0})  # b: 1.0
    assert aggregate(ppl, base) == pytest.approx(math.exp(32 / 12))  # not the mean of item perplexities
    c = compare(ppl, "base", base, "x", cand, resamples=300, confidence=0.95)
    assert c.higher_is_better is False and c.delta < 0
    assert (c.regressed, c.improved) == ([], ["b"])  # a: unchanged


def test_mmlu_is_in_percent_points_and_only_shared_items_are_paired() -> None:
    mm = spec("mmlu")
    base = ItemValues({"q1": 1, "q2": 0, "q3": 1, "q4": 0})
    cand = ItemValues({"q1": 1, "q2": 1, "q3": 1})  # q4 missing on this side
    assert aggregate(mm, base) == 50.0
    c = compare(mm, "base", base, "x", cand, resamples=300, confidence=0.95)
    assert c.n == 3 and c.base_value == pytest.approx(200 / 3) and c.candidate_value == 100.0


@pytest.mark.parametrize("n", [1, 2, 4])
def test_too_few_items_for_an_interval_are_flagged_not_shown_as_a_point(n: int) -> None:
    base = ItemValues({f"i{k}": 0.0 for k in range(n)})
    cand = ItemValues({f"i{k}": 1.0 for k in range(n)})
    c = compare(spec("exact_match"), "base", base, "x", cand, resamples=200, confidence=0.95)
    assert c.n == n and c.delta == 1.0
    assert c.ci_note == f"n={n} is too small for a confidence interval (needs at least 5 paired items)"


def test_enough_items_carry_no_note() -> None:
    base = ItemValues({f"i{k}": float(k % 2) for k in range(5)})
    c = compare(spec("exact_match"), "base", base, "x", base, resamples=200, confidence=0.95)
    assert c.ci_note == ""
