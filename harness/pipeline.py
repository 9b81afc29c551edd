"""The whole loop for one suite: audit -> sweep -> score -> results.json -> gates -> report.

Each stage returns typed results; this module only wires them together and
writes them. Reports and gates read what was written; they call no model.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.audit import AuditParams
from harness.audit_run import Review, audit_files
from harness.baseline import against_baseline, default_lock
from harness.config import AuditKnobs, SuiteConfig
from harness.gate import evaluate_gates
from harness.io import atomic_write_text
from harness.judge.results import JudgeReport
from harness.models.loading import LoadedModel, load_tokenizer
from harness.progress import console
from harness.results import (
    AuditResult,
    BaselineComparison,
    ItemScore,
    RepeatRun,
    RunResults,
    SweepResult,
    write_json,
)
from harness.train.sweep import load_suite_base, run_sweep

if TYPE_CHECKING:
    from harness.score.engine import Evaluation

RESULTS = "results.json"
ITEMS = "items.jsonl"


def default_out(suite: SuiteConfig) -> Path:
    return Path("reports") / suite.name


def suite_audit_params(suite: SuiteConfig) -> AuditParams:
    """The audit's parameters from the suite's ``audit:`` section (``max_seq_len``: the sweep's if unset)."""
    knobs = suite.audit.model_dump(include=set(AuditKnobs.model_fields))
    return AuditParams(**{**knobs, "max_seq_len": suite.audit.max_seq_len or suite.sweep.max_seq_len})


def audit_suite(
    suite: SuiteConfig, out: Path, *, tokenizer: Any = None, progress: bool = True
) -> AuditResult:
    """Audit the suite's train and eval sets (and benchmarks); write audit.json and audit.html."""
    if tokenizer is None and suite.audit.templates:
        tmpl = suite.base.chat_template
        tokenizer, _, _ = load_tokenizer(
            suite.resolve(suite.base.path), str(suite.resolve(tmpl)) if tmpl and tmpl != "plain" else tmpl
        )
    serving = None
    if suite.audit.serving_template and tokenizer is not None and suite.audit.templates:
        from harness.templates.serving import load_serving_template

        serving = load_serving_template(suite.resolve(suite.audit.serving_template))
    review = None
    if suite.audit.review is not None:
        judge = next(j for j in suite.judges if j.name == suite.audit.review.judge)
        review = Review(judge, suite.audit.review, rubric_dirs=(suite.folder / "judges",))
    return audit_files(
        out,
        suite.resolve(suite.data.train),
        suite.resolve(suite.data.eval),
        params=suite_audit_params(suite),
        data_format=suite.data.format,
        benchmarks={name: suite.resolve(path) for name, path in suite.audit.benchmarks.items()},
        tokenizer=tokenizer if suite.audit.templates else None,
        serving=serving,
        review=review,
        title=f"{suite.name}: dataset audit",
        progress=progress,
    )


def judge_suite(
    suite: SuiteConfig, items: list[ItemScore], candidate: str | None, out: Path
) -> JudgeReport | None:
    """Judge the base and the selected candidate with every configured judge, each on the items of
    the splits it names (``judges[i].splits``, default the eval set: general text has no output to
    judge, and MMLU answers only when a judge asks for them). Item ids start with their split."""
    if not suite.judges or candidate is None:
        return None
    from harness.judge import JudgeItem, run_judges

    wanted = {split for j in suite.judges for split in j.splits}
    grouped: dict[str, dict[str, ItemScore]] = {}
    for it in items:
        if it.model in ("base", candidate) and it.item_id.partition("/")[0] in wanted:
            grouped.setdefault(it.item_id, {})[it.model] = it
    judge_items = [
        JudgeItem(
            item_id=item_id,
            prompt=pair["base"].prompt,
            reference=pair["base"].reference or None,
            outputs={m: s.output for m, s in pair.items()},
            split=item_id.partition("/")[0],
        )
        for item_id, pair in grouped.items()
        if len(pair) == 2
    ]
    return run_judges(
        suite.judges,
        judge_items,
        cache_path=out / "cache" / "judge.sqlite",
        rubric_dirs=[suite.folder / "judges"],
    )


def rank_candidates(suite: SuiteConfig, models: Mapping[str, Mapping[str, float]]) -> list[str]:
    """Adapters, best first on the primary metric (missing values last)."""
    from harness.score.metrics import metric_registry

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


def run_suite(suite: SuiteConfig, out: Path, *, progress: bool = True, executor: str = "local") -> RunResults:
    """Run every stage and write results.json, items.jsonl and index.html into ``out``."""
    from harness.score.engine import evaluate

    out.mkdir(parents=True, exist_ok=True)
    audit = None
    if suite.audit.enabled:
        console.rule("[bold]audit")
        audit = audit_suite(suite, out, progress=progress)
        console.print(
            f"audit: {audit.count('error')} errors, {audit.count('warning')} warnings -> {out / 'audit.html'}"
        )
    console.rule("[bold]sweep")
    loaded: LoadedModel | None = None if executor == "ray" else load_suite_base(suite)
    sweep = run_sweep(suite, out, loaded=loaded, executor=executor)
    if loaded is not None:
        sweep = sweep.model_copy(update={"base_loads": 1})
    console.rule("[bold]score")
    adapters = {t.name: t.adapter_path for t in sweep.trials}
    evaluation = evaluate(suite, adapters, loaded=loaded, cache_path=cache_path(out), progress=progress)
    judges = None
    if suite.judges:
        console.rule("[bold]judge")
        judges = judge_suite(suite, evaluation.items, select_candidate(suite, evaluation.models), out)
    return finish_evaluation(suite, out, evaluation, audit=audit, sweep=sweep, judges=judges)


def finish_evaluation(
    suite: SuiteConfig,
    out: Path,
    evaluation: Evaluation,
    *,
    audit: AuditResult | None,
    sweep: SweepResult | None,
    judges: JudgeReport | None = None,
) -> RunResults:
    """Results from a scoring run (plus audit, sweep, judges): gated, written and rendered."""
    return finish(
        suite,
        out,
        audit=audit,
        sweep=sweep,
        models=evaluation.models,
        comparisons=evaluation.comparisons,
        items=evaluation.items,
        judges=judges,
        hashes=evaluation.hashes,
        meta={"forward_passes": evaluation.forward_passes, "primary_metric": suite.score.primary_metric},
        repeats=evaluation.repeats,
    )


def cache_path(out: Path) -> Path:
    return out / "cache" / "scores.sqlite"


def baseline_lock(suite: SuiteConfig, out: Path) -> Path:
    """The suite's ``baseline.path`` (relative to the suite file), else next to the run folder."""
    return suite.resolve(suite.baseline.path) if suite.baseline.path else default_lock(out)


def baseline_against(
    suite: SuiteConfig, out: Path, results: RunResults, items: list[ItemScore]
) -> Callable[[str | None], BaselineComparison]:
    return against_baseline(
        baseline_lock(suite, out),
        results,
        items,
        run_dir=out,
        required=suite.baseline.required,
        primary=suite.score.primary_metric,
        resamples=suite.score.bootstrap,
        confidence=suite.score.confidence,
    )


def finish(
    suite: SuiteConfig,
    out: Path,
    *,
    audit: AuditResult | None,
    sweep: SweepResult | None,
    models: dict[str, dict[str, float]],
    comparisons: list[Any],
    items: list[ItemScore],
    hashes: dict[str, str],
    meta: dict[str, Any],
    judges: JudgeReport | None = None,
    repeats: list[RepeatRun] | None = None,
) -> RunResults:
    """Assemble results, evaluate gates, write results.json, items.jsonl and the HTML report."""
    from harness.report import render_run, render_sweep

    candidate = select_candidate(suite, models)
    results = RunResults(
        suite=suite.name,
        models=models,
        comparisons=comparisons,
        audit=audit,
        sweep=sweep,
        judges=judges,
        candidate=candidate,
        hashes=hashes,
        meta=meta,
        repeats=repeats or [],
    )
    # Compared with the stored baseline once, here, before the gates: gates and reports only read it.
    against = baseline_against(suite, out, results, items)
    results = results.model_copy(update={"baseline": against(candidate)})
    results = gate_results(suite, results, baseline=against)
    write_json(results, out / RESULTS)
    atomic_write_text(
        out / ITEMS, "".join(json.dumps(i.model_dump(), ensure_ascii=False) + "\n" for i in items)
    )
    render_run(results, items, out / "index.html", primary=suite.score.primary_metric)
    if results.sweep is not None:
        render_sweep(results, out / "sweep.html", primary=suite.score.primary_metric)
    if suite.tracking.enabled:
        track(suite, results, out)
    return results


def track(suite: SuiteConfig, results: RunResults, out: Path) -> None:
    """Log written results to the suite's trackers: a tracker failure warns, the run stands."""
    from rich.markup import escape

    from harness.tracking import TrackingError, log_results

    try:
        lines = log_results(results, suite.tracking.resolved(suite.folder), out)
    except TrackingError as exc:
        lines = exc.logged
        console.print(
            f"[yellow]warning:[/] tracking failed: {escape(exc.message)}"
            " (results.json and the report are written)",
            soft_wrap=True,
        )
    for line in lines:
        console.print(f"tracking: {escape(line)}", soft_wrap=True)
