"""Report views: which metric columns, in what order, and each metric's direction when no comparison
recorded it."""

from __future__ import annotations

from harness.report.views import higher_is_better, ordered_metrics
from harness.results import RunResults


def test_builtins_first_in_registry_order_then_users_metrics_by_name() -> None:
    present = {"zeta_score", "json_valid", "mmlu/law", "mmlu", "alpha_score", "exact_match",
               "eval_perplexity"}
    assert ordered_metrics(present) == [
        "exact_match", "json_valid", "eval_perplexity", "mmlu", "alpha_score", "zeta_score"]


def test_direction_without_a_comparison_is_the_registrys() -> None:
    results = RunResults(suite="s", models={"base": {"general_perplexity": 5.0, "someones_metric": 1.0}})
    assert higher_is_better(results, "general_perplexity") is False
    assert higher_is_better(results, "exact_match") is True
    assert higher_is_better(results, "someones_metric") is True  # not importable here: higher
