"""Report views: which metric columns, in what order, and each metric's direction when no comparison
recorded it."""

from __future__ import annotations

from harness.report.views import higher_is_better, ordered_metrics, pareto_front, sweep_objectives
from harness.results import RunResults, SweepResult, TrialResult


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


def sweep_results(trials: dict[str, dict[str, float]]) -> RunResults:
    """Scored trials of equal size (so that only the metrics decide the front)."""
    rows = [TrialResult(name=n, config={}, config_hash=n, trainable_params=1000, total_params=10**6,
                        trainable_share=0.001, steps=10, train_tokens=100, tokens_per_s=1.0, wall_s=1.0,
                        step_s=0.1, peak_mem_bytes=1, peak_mem_kind="rss", adapter_path=n, overfitting=False)
            for n in trials]
    return RunResults(suite="s", models={"base": {}, **trials}, sweep=SweepResult(trials=rows))


def test_mmlu_as_the_forgetting_canary_is_maximised() -> None:
    """Without general perplexity, MMLU measures forgetting: the trial that kept more of it wins."""
    results = sweep_results({"kept": {"exact_match": 0.8, "mmlu": 60.0},
                             "forgot": {"exact_match": 0.8, "mmlu": 40.0}})
    objectives = sweep_objectives(results, "exact_match")
    assert objectives["kept"] == (-0.8, -60.0, 1000.0) and objectives["forgot"] == (-0.8, -40.0, 1000.0)
    assert pareto_front(objectives) == {"kept"}


def test_general_perplexity_comes_first_and_is_minimised() -> None:
    results = sweep_results({"a": {"exact_match": 0.8, "general_perplexity": 6.0, "mmlu": 30.0},
                             "b": {"exact_match": 0.8, "general_perplexity": 9.0, "mmlu": 60.0},
                             "c": {"exact_match": 0.9}})
    objectives = sweep_objectives(results, "exact_match")
    assert objectives["a"][1] == 6.0 and objectives["b"][1] == 9.0 and objectives["c"][1] == 0.0
    assert pareto_front({k: v for k, v in objectives.items() if k != "c"}) == {"a"}
    assert sweep_objectives(results, "eval_perplexity") == {}  # no trial has the primary metric
