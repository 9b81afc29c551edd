"""Render results to self-contained HTML (jinja2, autoescape on, plots inline)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2

from harness.io import atomic_write_text
from harness.report import plots
from harness.report.judge_views import judge_problems, judge_rows
from harness.report.token_view import token_views
from harness.report.views import (
    compare_groups,
    finding_rows,
    higher_is_better,
    item_rows,
    loss_objectives,
    metric_columns,
    pareto_front,
    sweep_objectives,
    trial_rows,
)
from harness.results import MIN_CI_ITEMS, AuditResult, ItemScore, RunResults

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("harness.report", "templates"),
    autoescape=True,  # everything from data and models is escaped; nothing is marked safe
    undefined=jinja2.StrictUndefined,
)
_ENV.globals["min_ci_items"] = MIN_CI_ITEMS  # fewer paired items: "n too small", no interval shown


def _audit_context(audit: AuditResult | None) -> dict[str, Any]:
    examples = []
    if audit is not None:
        for split_summary in (audit.summary.get("templates") or {}).values():
            if isinstance(split_summary, dict):
                examples += [e for e in split_summary.get("examples", []) if isinstance(e, dict)]
    return {"audit": audit, "findings": finding_rows(audit), "examples": examples[:5]}


def render_audit(audit: AuditResult, path: Path, *, title: str = "Dataset audit") -> Path:
    html = _ENV.from_string(
        '{% extends "base.html.j2" %}{% block body %}<h1>{{ title }}</h1>'
        '<div id="verdict" class="banner {{ "fail" if audit.has_errors else "pass" }}"><h2>'
        '{{ "ERRORS FOUND" if audit.has_errors else "NO ERRORS" }}</h2>'
        '{{ audit.count("error") }} errors, {{ audit.count("warning") }} warnings</div>'
        '{% include "audit_section.html.j2" %}{% endblock %}'
    ).render(title=title, **_audit_context(audit))
    atomic_write_text(path, html)
    return path


def render_run(
    results: RunResults, items: Sequence[ItemScore], path: Path, *, primary: str = "exact_match"
) -> Path:
    sweep = results.sweep
    objectives = sweep_objectives(results, primary)
    front = pareto_front(objectives)
    comp = next(
        (c for c in results.comparisons if c.metric == primary and c.candidate == results.candidate), None
    )
    trials = {t.name: t for t in sweep.trials} if sweep else {}
    rows = trial_rows(sweep, results, front)
    metric_values = {name: m[primary] for name, m in results.models.items() if primary in m}
    html = _ENV.get_template("run.html.j2").render(
        title=f"{results.suite}: fine-tune regression report",
        results=results,
        failed=[g for g in results.gates if not g.passed],
        metrics=metric_columns(results),
        trials={name: _TrialCell(t.trainable_params, t.wall_s) for name, t in trials.items()},
        trial_rows=rows,
        primary=primary,
        items=item_rows(
            items,
            results.candidate,
            primary,
            set(comp.regressed) if comp else set(),
            set(comp.improved) if comp else set(),
        ),
        delta_plot=plots.delta_ci(results.comparisons),
        loss_plot=plots.loss_curves(sweep.trials) if sweep else None,
        heatmap_plot=(
            plots.heatmap(
                sweep.trials, metric_values, primary, higher_is_better=higher_is_better(results, primary)
            )
            if sweep
            else None
        ),
        pareto_plot=plots.pareto(
            [(n, o[2], -o[0] if higher_is_better(results, primary) else o[0]) for n, o in objectives.items()],
            "trainable parameters",
            primary,
            front,
        ),
        judge_rows=judge_rows(results.judges),
        judge_problems=judge_problems(results.judges),
        template=results.template,
        token_views=token_views(results.template),
        **_audit_context(results.audit),
    )
    atomic_write_text(path, html)
    return path


class _TrialCell:
    def __init__(self, trainable: int, wall_s: float) -> None:
        self.trainable = trainable
        self.wall_s = wall_s


def render_sweep(results: RunResults, path: Path, *, primary: str) -> Path:
    """``sweep.html``: the trials side by side, with the sweep's plots and a long sortable table.

    Works on a sweep that was never scored (``RunResults(suite=..., sweep=load_sweep(...))``):
    the metric rows are then absent and the Pareto front trades loss against trainable params.
    """
    sweep = results.sweep
    if sweep is None:
        raise ValueError("render_sweep needs results with a sweep")
    objectives = sweep_objectives(results, primary)
    if objectives:
        front = pareto_front(objectives)
        higher = higher_is_better(results, primary)
        # sweep_objectives stores the task metric negated when higher is better; plot the metric itself.
        points = [(n, o[2], -o[0] if higher else o[0]) for n, o in objectives.items()]
        basis, values = primary, {n: m[primary] for n, m in results.models.items() if primary in m}
    else:
        basis, losses = loss_objectives(sweep)
        front, higher = pareto_front(losses), False
        points = [(n, o[1], o[0]) for n, o in losses.items()]
        values = {n: o[0] for n, o in losses.items()}
    html = _ENV.get_template("sweep.html.j2").render(
        title=f"{results.suite}: sweep comparison",
        results=results,
        trials=[t.name for t in sweep.trials],
        candidate=results.candidate,
        groups=compare_groups(results, front),
        scored=bool(results.models),
        basis=basis,
        metrics=metric_columns(results),
        trial_rows=trial_rows(sweep, results, front),
        loss_plot=plots.loss_curves(sweep.trials),
        heatmap_plot=plots.heatmap(sweep.trials, values, basis, higher_is_better=higher),
        pareto_plot=plots.pareto(points, "trainable parameters", basis, front),
    )
    atomic_write_text(path, html)
    return path
