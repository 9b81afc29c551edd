"""The whole loop for one suite: audit -> sweep -> score -> results.json -> gates -> report.

Each stage returns typed results; this module only wires them together, reads
the baseline lockfile, and writes the files (assembling the results from the
stages is :mod:`harness.assemble`'s, with no I/O). Reports and gates read what
was written; they call no model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.assemble import assemble_results, select_candidate
from harness.audit import AuditParams
from harness.audit_run import CleanRequest, Review, audit_files
from harness.baseline import default_lock, read_lock_contents
from harness.config import AuditKnobs, SuiteConfig
from harness.io import atomic_write_text
from harness.judge.results import JudgeReport
from harness.lock import output_lock
from harness.models.loading import LoadedModel, load_tokenizer
from harness.models.suite_base import load_suite_base, suite_chat_template
from harness.paths import folder_name
from harness.progress import console, summary
from harness.results import AuditResult, Evaluation, ItemScore, RunResults, SweepResult, write_json
from harness.train.sweep import run_sweep

RESULTS = "results.json"
ITEMS = "items.jsonl"


def default_out(suite: SuiteConfig) -> Path:
    """``reports/<suite name>``, the name made one safe folder name: it never leaves ``reports/``."""
    return Path("reports") / folder_name(suite.name)


def suite_audit_params(suite: SuiteConfig) -> AuditParams:
    """The audit's parameters from the suite's ``audit:`` section (``max_seq_len``: the sweep's if unset)."""
    knobs = suite.audit.model_dump(include=set(AuditKnobs.model_fields))
    return AuditParams(**{**knobs, "max_seq_len": suite.audit.max_seq_len or suite.sweep.max_seq_len,
                          "checks": tuple(suite.audit.checks), "check_params": suite.audit.check_params})


def suite_clean(suite: SuiteConfig, out: Path) -> CleanRequest | None:
    """The suite's ``audit.clean`` as a request (folder: ``dir`` from the suite file, else ``out/clean``)."""
    clean = suite.audit.clean
    if clean is None:
        return None
    folder = suite.resolve(clean.dir) if clean.dir else out / "clean"
    return CleanRequest(folder, clean.policy(), force=clean.force)


def audit_suite(
    suite: SuiteConfig, out: Path, *, tokenizer: Any = None, progress: bool = True
) -> AuditResult:
    """Audit the suite's train and eval sets (and benchmarks); write audit.json and audit.html."""
    if tokenizer is None and suite.audit.templates:
        tokenizer, _, _ = load_tokenizer(suite.resolve(suite.base.path), suite_chat_template(suite))
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
        clean=suite_clean(suite, out),
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


def judge_line(report: JudgeReport | None) -> str:
    if report is None:
        return "skipped (no candidate to judge)"
    runs = ", ".join(f"{r.name} {r.items} items ({r.requests} requests, {r.cache_hits} cached, "
                     f"{r.without_verdict} without a verdict{f'; stopped: {r.error}' if r.error else ''})"
                     for r in report.runs)
    return f"{runs} -> {RESULTS}"


def run_suite(suite: SuiteConfig, out: Path, *, progress: bool = True, executor: str = "local") -> RunResults:
    """Run every stage and write results.json, items.jsonl and index.html into ``out``."""
    with output_lock(out):
        return _run_stages(suite, out, progress=progress, executor=executor)


def _run_stages(suite: SuiteConfig, out: Path, *, progress: bool, executor: str) -> RunResults:
    from harness.score.engine import evaluate

    audit = None
    if suite.audit.enabled:
        console.rule("[bold]audit")
        audit = audit_suite(suite, out, progress=progress)
        errors, warnings = audit.count("error"), audit.count("warning")
        summary("audit", f"{errors} errors, {warnings} warnings -> {out / 'audit.html'}")
    console.rule("[bold]sweep")
    loaded: LoadedModel | None = None if executor == "ray" else load_suite_base(suite)
    sweep = run_sweep(suite, out, loaded=loaded, executor=executor)
    console.rule("[bold]score")
    adapters = sweep.adapters(out)
    evaluation = evaluate(suite, adapters, loaded=loaded, cache_path=cache_path(out), progress=progress)
    return judge_and_finish(suite, out, evaluation, audit=audit, sweep=sweep)


def judge_and_finish(suite: SuiteConfig, out: Path, evaluation: Evaluation, *, audit: AuditResult | None,
                     sweep: SweepResult | None) -> RunResults:
    """What follows scoring in ``harness run`` and ``harness eval`` alike: the judge stage, then
    :func:`finish_evaluation`. One function, so the two commands judge and gate the same way."""
    return finish_evaluation(suite, out, evaluation, audit=audit, sweep=sweep,
                             judges=judge_stage(suite, evaluation, out))


def judge_stage(suite: SuiteConfig, evaluation: Evaluation, out: Path) -> JudgeReport | None:
    """The suite's judges on the base and the selected candidate, with the stage's summary line
    (None when the suite has no judges)."""
    if not suite.judges:
        return None
    console.rule("[bold]judge")
    report = judge_suite(suite, evaluation.items, select_candidate(suite, evaluation.models), out)
    summary("judge", judge_line(report))
    return report


def finish_evaluation(
    suite: SuiteConfig,
    out: Path,
    evaluation: Evaluation,
    *,
    audit: AuditResult | None,
    sweep: SweepResult | None,
    judges: JudgeReport | None = None,
) -> RunResults:
    """Results from a scoring run (plus audit, sweep, judges): assembled and gated, written, tracked."""
    lock = read_lock_contents(baseline_lock(suite, out))
    results = assemble_results(
        suite, evaluation, lock=lock, run_dir=out, audit=audit, sweep=sweep, judges=judges
    )
    write_run(suite, results, evaluation.items, out)
    if suite.tracking.enabled:
        track(suite, results, out)
    return results


def cache_path(out: Path) -> Path:
    return out / "cache" / "scores.sqlite"


def baseline_lock(suite: SuiteConfig, out: Path) -> Path:
    """The suite's ``baseline.path`` (relative to the suite file), else next to the run folder."""
    return suite.resolve(suite.baseline.path) if suite.baseline.path else default_lock(out)


def write_run(suite: SuiteConfig, results: RunResults, items: list[ItemScore], out: Path) -> None:
    """Write results.json, items.jsonl, index.html and (with a sweep) sweep.html into ``out``."""
    from harness.report import render_run, render_sweep

    write_json(results, out / RESULTS)
    atomic_write_text(
        out / ITEMS, "".join(json.dumps(i.model_dump(), ensure_ascii=False) + "\n" for i in items)
    )
    render_run(results, items, out / "index.html", primary=suite.score.primary_metric)
    if results.sweep is not None:
        render_sweep(results, out / "sweep.html", primary=suite.score.primary_metric)


def track(suite: SuiteConfig, results: RunResults, out: Path) -> None:
    """Log written results to the suite's trackers: a tracker failure warns, the run stands."""
    from rich.markup import escape

    from harness.progress import warning
    from harness.tracking import TrackingError, log_results

    try:
        lines = log_results(results, suite.tracking.resolved(suite.folder), out)
    except TrackingError as exc:
        lines = exc.logged
        warning(f"tracking failed: {exc.message} (results.json and the report are written)")
    for line in lines:
        console.print(f"tracking: {escape(line)}", soft_wrap=True)
