"""Auditing dataset files into a folder: load, check, optionally review, write audit.json and audit.html.

:func:`audit_files` is the one way both ``harness audit`` and a suite's audit
stage (:func:`harness.pipeline.audit_suite`) run: they differ only in where
the files, parameters, tokenizer, benchmarks and review judge come from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.audit import AuditParams, CleanPolicy, clean_dataset, load_benchmark, run_audit
from harness.audit.clean import destination
from harness.audit.gc_pause import gc_paused
from harness.audit.reuse import AuditCache
from harness.config import ReviewConfig
from harness.data import open_records
from harness.data.record import Record
from harness.judge.config import JudgeConfig
from harness.report import render_audit
from harness.results import AuditResult, CheckRun, write_json

if TYPE_CHECKING:
    from harness.templates.serving import ServingTemplate

AUDIT_JSON = "audit.json"
AUDIT_HTML = "audit.html"


@dataclass(frozen=True)
class CleanRequest:
    """Write a cleaned copy into ``folder`` after the audit (:func:`harness.audit.clean_dataset`)."""

    folder: Path
    policy: CleanPolicy
    force: bool = False


@dataclass(frozen=True)
class Review:
    """An LLM review of a sample of training rows: the judge, the sample, where its rubric may be."""

    judge: JudgeConfig
    sample: ReviewConfig  # fraction and seed (its ``judge`` names :attr:`judge`)
    rubric_dirs: tuple[Path, ...] = ()


def audit_files(
    out: Path,
    train: Path,
    eval: Path | None = None,
    *,
    params: AuditParams,
    data_format: str = "auto",
    benchmarks: Mapping[str, Path] | None = None,
    tokenizer: Any = None,
    serving: ServingTemplate | None = None,
    review: Review | None = None,
    clean: CleanRequest | None = None,
    title: str,
    progress: bool = True,
) -> AuditResult:
    """Audit ``train`` (and ``eval``, against ``benchmarks`` name -> folder) into ``out``.

    With a ``tokenizer`` the chat-template and loss-mask checks run too, and with a ``serving``
    template as well the training-vs-serving check; with a ``review`` a sample of training rows
    goes to its judge (verdicts cached in ``out/cache/judge.sqlite``).
    Writes ``out/audit.json`` and ``out/audit.html``; returns what it wrote. With ``clean``, then
    writes the cleaned copy, ``removed.jsonl`` and ``clean.json`` into ``clean.folder`` (a folder
    that holds files is refused before any work) and prints its summary line.
    """
    if clean is not None:
        destination(clean.folder, train, eval, clean.policy, clean.force)
    # JSONL is indexed, not loaded: the audit's workers parse it in chunks (other formats load whole,
    # but for Parquet on Ray: the actors read their row groups).
    tables = params.executor == "ray"
    train_records = open_records(train, data_format, tables=tables)
    eval_records = open_records(eval, data_format, tables=tables) if eval is not None else None
    docs = {name: load_benchmark(name, path) for name, path in (benchmarks or {}).items()}
    scans = AuditCache()  # the clean's re-audits of the kept rows reuse this audit's scans
    result = run_audit(
        train_records, eval_records, benchmarks=docs, params=params, tokenizer=tokenizer, progress=progress,
        cache=scans,
    )
    if serving is not None and tokenizer is not None:
        from harness.audit.serving_template import check_serving

        result = check_serving(result, tokenizer, train_records, serving)
    if review is not None:
        result = review_records(train_records, result, review, out)
    write_audit(result, out, title=title)
    if clean is not None:
        from rich.markup import escape

        from harness.progress import verdict

        report = clean_dataset(train, eval, out=clean.folder, fmt=data_format, benchmarks=docs,
                               params=params, policy=clean.policy, tokenizer=tokenizer, force=clean.force,
                               audit=result,
                               train_records=train_records, eval_records=eval_records, progress=progress,
                               cache=scans)
        verdict(escape(report.summary(clean.folder)))  # where the cleaned copy is: shown with --quiet too
    return result


def review_records(train: Sequence[Record], audit: AuditResult, review: Review, out: Path) -> AuditResult:
    """Send a sample of training rows to the review judge; add its findings and its check to ``audit``."""
    from harness.judge import review_dataset

    findings = review_dataset(
        train,
        review.judge,
        fraction=review.sample.fraction,
        seed=review.sample.seed,
        cache_path=out / "cache" / "judge.sqlite",
        rubric_dirs=list(review.rubric_dirs),
    )
    run = CheckRun(
        check="judge_review",
        findings=len(findings),
        params={
            "judge": review.judge.name,
            "rubric": review.judge.rubric,
            "fraction": review.sample.fraction,
            "seed": review.sample.seed,
        },
    )
    return audit.model_copy(update={"findings": [*audit.findings, *findings], "checks": [*audit.checks, run]})


@gc_paused()  # the audit's objects are still alive: full collections walked them through the render
def write_audit(result: AuditResult, out: Path, *, title: str) -> tuple[Path, Path]:
    """Write ``out/audit.json`` and ``out/audit.html`` (each atomically); returns both paths."""
    json_path = write_json(result, out / AUDIT_JSON)
    return json_path, render_audit(result, out / AUDIT_HTML, title=title)


__all__ = ["AUDIT_HTML", "AUDIT_JSON", "CleanRequest", "Review", "audit_files", "review_records",
           "write_audit"]
