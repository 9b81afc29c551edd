"""A run's results from its stages' outputs: the candidate, the baseline comparison and the gates, no I/O.

:func:`assemble_results` is a pure function of typed inputs: the suite, the
scoring's :class:`~harness.results.Evaluation`, the audit, sweep and judge
results, and what the baseline path holds (:class:`~harness.baseline.LockContents`).
Reading the lockfile before and writing files and trackers after are
:mod:`harness.pipeline`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from harness.baseline import LockContents, against_baseline
from harness.config import SuiteConfig
from harness.gate import evaluate_gates
from harness.judge.results import JudgeReport
from harness.results import AuditResult, BaselineComparison, Evaluation, RunResults, SweepResult
from harness.score.metrics import metric_registry


def rank_candidates(suite: SuiteConfig, models: Mapping[str, Mapping[str, float]]) -> list[str]:
    """Adapters, best first on the primary metric (its direction from the metric registry; missing
    values last)."""
    metric = suite.score.primary_metric
    sign = 1.0 if metric_registry().higher_is_better(metric) else -1.0

    def key(name: str) -> tuple[float, str]:
        value = models[name].get(metric, float("nan"))
        return (sign * value if value == value else float("-inf"), name)

    return sorted((m for m in models if m != "base"), key=key, reverse=True)


def select_candidate(suite: SuiteConfig, models: Mapping[str, Mapping[str, float]]) -> str | None:
    """The adapter the gates judge: a named one, or the best on the primary metric."""
    ranked = rank_candidates(suite, models)
    if not ranked:
        return None
    return ranked[0] if suite.score.select in {"best", "best_passing"} else suite.score.select


def gate_results(
    suite: SuiteConfig,
    results: RunResults,
    *,
    baseline: Callable[[str | None], BaselineComparison] | None = None,
) -> RunResults:
    """Evaluate the gates; with ``select: best_passing``, on the best adapter that passes them all.

    A sweep asks "which configuration may ship?": the best on the primary metric among those
    that meet every gate (forgetting included). When none does, the best overall is judged and fails.
    ``baseline``: each adapter's comparison with the stored baseline, for the adapters tried.
    """
    if suite.score.select == "best_passing":
        for name in rank_candidates(suite, results.models):
            update: dict[str, Any] = {"candidate": name}
            if baseline is not None:
                update["baseline"] = baseline(name)
            trial = results.model_copy(update=update)
            gates = evaluate_gates(trial, suite.gates, noise_z=suite.score.noise_z)
            if all(g.passed for g in gates):
                return trial.model_copy(update={"gates": gates})
    gates = evaluate_gates(results, suite.gates, noise_z=suite.score.noise_z)
    return results.model_copy(update={"gates": gates})


def assemble_results(
    suite: SuiteConfig,
    evaluation: Evaluation,
    *,
    lock: LockContents,
    run_dir: Path,
    audit: AuditResult | None = None,
    sweep: SweepResult | None = None,
    judges: JudgeReport | None = None,
) -> RunResults:
    """The run's results: candidate selected, compared with the baseline, gated.

    ``lock``: what the suite's baseline path holds (read by the caller); ``run_dir``: the run's
    folder, named only in the baseline's notes (the command that accepts this run).
    """
    candidate = select_candidate(suite, evaluation.models)
    results = RunResults(
        suite=suite.name,
        models=evaluation.models,
        comparisons=evaluation.comparisons,
        audit=audit,
        sweep=sweep,
        judges=judges,
        candidate=candidate,
        hashes=evaluation.hashes,
        meta={"forward_passes": evaluation.forward_passes, "primary_metric": suite.score.primary_metric},
        repeats=evaluation.repeats,
        template=evaluation.template,
    )
    # Compared with the baseline once, here, before the gates: gates and reports only read it.
    against = against_baseline(
        lock,
        results,
        evaluation.items,
        run_dir=run_dir,
        required=suite.baseline.required,
        primary=suite.score.primary_metric,
        resamples=suite.score.bootstrap,
        confidence=suite.score.confidence,
    )
    results = results.model_copy(update={"baseline": against(candidate)})
    return gate_results(suite, results, baseline=against)


__all__ = ["assemble_results", "gate_results", "rank_candidates", "select_candidate"]
