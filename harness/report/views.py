"""What the report shows, derived from results only (no model, no data file is read here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.results import Comparison, ItemScore, RunResults, SweepResult, ci_note
from harness.score.metrics import metric_registry


@dataclass(frozen=True)
class TrialRow:
    name: str
    r: int
    alpha: float
    modules: str
    lr: float
    steps: int
    trainable: int
    share: float
    wall_s: float
    tokens_per_s: float
    peak_mib: float
    final_train: float | None
    final_val: float | None
    overfitting: bool
    pareto: bool
    metrics: dict[str, float]


def ordered_metrics(present: set[str]) -> list[str]:
    """The built-ins in the registry's order, then the rest (users' own) by name, the same whether or
    not this process imported them; a family's members (``mmlu/<subject>``: dozens) left out."""
    registry = metric_registry()
    present = {m for m in present if not ("/" in m and (s := registry.find(m)) is not None and s.family)}
    known = [s.name for s in registry.specs() if s.builtin and s.name in present]
    return known + sorted(present - set(known))


def metric_columns(results: RunResults) -> list[str]:
    return ordered_metrics({m for values in results.models.values() for m in values})


def pareto_front(points: Mapping[str, Sequence[float]]) -> set[str]:
    """Names not dominated by any other (every objective here is 'lower is better')."""
    front = set()
    for name, p in points.items():
        dominated = any(
            all(a <= b for a, b in zip(q, p, strict=True)) and any(a < b for a, b in zip(q, p, strict=True))
            for other, q in points.items()
            if other != name
        )
        if not dominated:
            front.add(name)
    return front


FORGETTING = ("general_perplexity", "mmlu")  # the forgetting canaries, the first one a trial has


def sweep_objectives(results: RunResults, primary: str) -> dict[str, tuple[float, float, float]]:
    """Per trial: (task metric, forgetting, cost), each signed so that lower is better (a metric
    whose higher is better is negated). Forgetting is general perplexity, else MMLU, else 0."""
    out: dict[str, tuple[float, float, float]] = {}
    if results.sweep is None:
        return out
    for t in results.sweep.trials:
        m = results.models.get(t.name, {})
        if primary not in m:
            continue
        canary = next((k for k in FORGETTING if k in m), None)
        forgetting = _to_minimise(results, canary, m[canary]) if canary else 0.0
        out[t.name] = (_to_minimise(results, primary, m[primary]), forgetting, float(t.trainable_params))
    return out


def _to_minimise(results: RunResults, metric: str, value: float) -> float:
    return -value if higher_is_better(results, metric) else value


def trial_rows(sweep: SweepResult | None, results: RunResults | None, front: set[str]) -> list[TrialRow]:
    if sweep is None:
        return []
    rows = []
    for t in sweep.trials:
        mods = t.config.get("target_modules")
        rows.append(
            TrialRow(
                name=t.name,
                r=int(t.config["r"]),
                alpha=float(t.config["lora_alpha"]),
                modules=mods if isinstance(mods, str) else "+".join(mods or []),
                lr=float(t.config["learning_rate"]),
                steps=t.steps,
                trainable=t.trainable_params,
                share=t.trainable_share,
                wall_s=t.wall_s,
                tokens_per_s=t.tokens_per_s,
                peak_mib=t.peak_mem_bytes / 2**20,
                final_train=t.train_loss[-1].loss if t.train_loss else None,
                final_val=t.eval_loss[-1].loss if t.eval_loss else None,
                overfitting=t.overfitting,
                pareto=t.name in front,
                metrics=dict(results.models.get(t.name, {})) if results else {},
            )
        )
    return rows


@dataclass(frozen=True)
class ItemRow:
    item_id: str
    prompt: str
    reference: str
    base: str
    candidate: str
    status: str  # regressed / improved / same


def item_rows(
    items: Sequence[ItemScore],
    candidate: str | None,
    metric: str,
    regressed: set[str],
    improved: set[str],
    limit: int = 300,
) -> list[ItemRow]:
    """Base vs candidate per item, regressions first (then improvements, then the rest)."""
    by_model: dict[str, dict[str, ItemScore]] = {}
    for it in items:
        by_model.setdefault(it.model, {})[it.item_id] = it
    base, cand = by_model.get("base", {}), by_model.get(candidate or "", {})
    rows = []
    for item_id, b in base.items():
        c = cand.get(item_id)
        status = "regressed" if item_id in regressed else "improved" if item_id in improved else "same"
        rows.append(
            ItemRow(
                item_id=item_id,
                prompt=b.prompt,
                reference=b.reference,
                base=b.output,
                candidate=c.output if c else "",
                status=status,
            )
        )
    order = {"regressed": 0, "improved": 1, "same": 2}
    rows.sort(key=lambda r: (order[r.status], r.item_id))
    return rows[:limit]


def finding_rows(results_audit: Any) -> list[dict[str, Any]]:
    """Audit findings flattened for the table: refs and the member texts side by side."""
    if results_audit is None:
        return []
    rows = []
    for f in results_audit.findings:
        members = f.details.get("members") or []
        texts = [m for m in members if isinstance(m, dict)][:6]
        rows.append(
            {
                "check": f.check,
                "severity": f.severity,
                "message": f.message,
                "refs": ", ".join(f"{r.split}#{r.index}" for r in f.refs[:12])
                + (f" (+{len(f.refs) - 12} more)" if len(f.refs) > 12 else ""),
                "members": texts,
                "details": {k: v for k, v in f.details.items() if k != "members"},
            }
        )
    severity_order = {"error": 0, "warning": 1, "info": 2}
    rows.sort(key=lambda r: severity_order.get(r["severity"], 3))
    return rows


# --- sweep comparison page: trials as columns -------------------------------------------------


@dataclass(frozen=True)
class Cell:
    text: str
    best: bool = False
    css: str = ""  # "good" / "bad": a delta whose CI excludes zero, or an overfitting flag


@dataclass(frozen=True)
class CompareRow:
    label: str
    note: str
    cells: list[Cell]


@dataclass(frozen=True)
class CompareGroup:
    name: str
    rows: list[CompareRow]


def higher_is_better(results: RunResults, metric: str) -> bool:
    """The scorer's own direction when a comparison recorded it; else the registry's."""
    comp = next((c for c in results.comparisons if c.metric == metric), None)
    return comp.higher_is_better if comp else metric_registry().higher_is_better(metric)


def _best_flags(values: Sequence[float | None], higher: bool) -> list[bool]:
    """Cells holding a row's best value (ties all marked); none when there is nothing to choose between."""
    present = [v for v in values if v is not None]
    if len(set(present)) < 2:
        return [False] * len(values)
    best = max(present) if higher else min(present)
    return [v is not None and v == best for v in values]


def _ranked_row(label: str, values: Sequence[float | None], spec: str, *, higher: bool) -> CompareRow:
    flags = _best_flags(values, higher)
    cells = [Cell("" if v is None else format(v, spec), best=f) for v, f in zip(values, flags, strict=True)]
    return CompareRow(label, "higher is better" if higher else "lower is better", cells)


def _plain_row(label: str, texts: Sequence[str]) -> CompareRow:
    return CompareRow(label, "", [Cell(t) for t in texts])


def _modules(config: Mapping[str, Any]) -> str:
    mods = config.get("target_modules")
    return mods if isinstance(mods, str) else "+".join(mods or [])


def _num(config: Mapping[str, Any], key: str) -> str:
    """A config number, compact ('g'); blank when the trial did not record it."""
    return format(float(config[key]), "g") if key in config else ""


def _config_group(sweep: SweepResult) -> CompareGroup:
    ts = sweep.trials
    cfg = [t.config for t in ts]
    return CompareGroup(
        "configuration",
        [
            _plain_row("r", [str(c.get("r", "")) for c in cfg]),
            _plain_row("lora_alpha", [_num(c, "lora_alpha") for c in cfg]),
            _plain_row("target modules", [_modules(c) for c in cfg]),
            _plain_row("learning rate", [_num(c, "learning_rate") for c in cfg]),
            _plain_row("dropout", [_num(c, "lora_dropout") for c in cfg]),
            _plain_row("DoRA", ["yes" if c.get("use_dora") else "no" for c in cfg]),
            _plain_row("steps", [str(t.steps) for t in ts]),
        ],
    )


def _cost_group(sweep: SweepResult) -> CompareGroup:
    ts = sweep.trials
    params = _ranked_row("trainable params", [float(t.trainable_params) for t in ts], ",.0f", higher=False)
    # The share rides along in the same cell: two rows for one quantity would double the highlight.
    params_cells = [
        Cell(f"{c.text} ({100 * t.trainable_share:.2f}%)", best=c.best)
        for c, t in zip(params.cells, ts, strict=True)
    ]
    kinds = "/".join(sorted({t.peak_mem_kind for t in ts}))
    return CompareGroup(
        "cost",
        [
            CompareRow("trainable params (share)", params.note, params_cells),
            _ranked_row("wall time (s)", [t.wall_s for t in ts], ".1f", higher=False),
            _ranked_row("tokens/s", [t.tokens_per_s for t in ts], ",.0f", higher=True),
            _ranked_row(
                f"peak memory (MiB, {kinds})", [t.peak_mem_bytes / 2**20 for t in ts], ",.0f", higher=False
            ),
        ],
    )


def _training_group(sweep: SweepResult) -> CompareGroup:
    ts = sweep.trials
    return CompareGroup(
        "training",
        [
            _ranked_row(
                "final train loss",
                [t.train_loss[-1].loss if t.train_loss else None for t in ts],
                ".4f",
                higher=False,
            ),
            _ranked_row(
                "final validation loss",
                [t.eval_loss[-1].loss if t.eval_loss else None for t in ts],
                ".4f",
                higher=False,
            ),
            _ranked_row(
                "best validation loss",
                [min(p.loss for p in t.eval_loss) if t.eval_loss else None for t in ts],
                ".4f",
                higher=False,
            ),
            CompareRow(
                "overfitting", "", [Cell("yes", css="bad") if t.overfitting else Cell("no") for t in ts]
            ),
        ],
    )


def compared_metrics(results: RunResults, names: Sequence[str]) -> list[str]:
    """Metrics scored for any of ``names``, in :func:`ordered_metrics` order."""
    return ordered_metrics({m for n in names for m in results.models.get(n, {})})


def _delta_cell(comp: Comparison | None, best: bool) -> Cell:
    if comp is None:
        return Cell("")
    if ci_note(comp.n):
        return Cell(f"{comp.delta:+.4g} (n too small: n={comp.n})", best=best)
    better = (comp.ci_low > 0) if comp.higher_is_better else (comp.ci_high < 0)
    worse = (comp.ci_high < 0) if comp.higher_is_better else (comp.ci_low > 0)
    text = f"{comp.delta:+.4g} [{comp.ci_low:+.3g}, {comp.ci_high:+.3g}]"
    return Cell(text, best=best, css="good" if better else "bad" if worse else "")


def _metric_rows(results: RunResults, names: Sequence[str], metric: str) -> list[CompareRow]:
    higher = higher_is_better(results, metric)
    value = _ranked_row(metric, [results.models.get(n, {}).get(metric) for n in names], ".4g", higher=higher)
    base = results.models.get("base", {}).get(metric)
    if base is not None:
        value = CompareRow(metric, f"{value.note}; base {base:.4g}", value.cells)
    comps = {c.candidate: c for c in results.comparisons if c.metric == metric}
    deltas = [comps[n].delta if n in comps else None for n in names]
    flags = _best_flags(deltas, higher)
    cells = [_delta_cell(comps.get(n), f) for n, f in zip(names, flags, strict=True)]
    if not any(c.text for c in cells):
        return [value]
    return [value, CompareRow(f"{metric}: delta vs base [CI]", "", cells)]


def compare_groups(results: RunResults, front: set[str]) -> list[CompareGroup]:
    """The sweep page's transposed table: one column per trial, one row per field, grouped.

    Metric rows exist only for a scored sweep; a sweep.json alone yields config, cost and training.
    """
    sweep = results.sweep
    if sweep is None or not sweep.trials:
        return []
    names = [t.name for t in sweep.trials]
    groups = [_config_group(sweep), _cost_group(sweep), _training_group(sweep)]
    metric_rows = [row for m in compared_metrics(results, names) for row in _metric_rows(results, names, m)]
    if metric_rows:
        groups.append(CompareGroup("scores (held-out eval)", metric_rows))
    groups.append(
        CompareGroup("selection", [_plain_row("Pareto front", ["★" if n in front else "" for n in names])])
    )
    return groups


def loss_objectives(sweep: SweepResult | None) -> tuple[str, dict[str, tuple[float, float]]]:
    """Before scoring, the Pareto front trades (loss, trainable params), both to minimise.

    Best validation loss when every trial has one, else the final training loss; the same
    quantity for all trials or none (mixing them would compare different things).
    """
    if sweep is None:
        return "", {}
    if sweep.trials and all(t.eval_loss for t in sweep.trials):
        return "best validation loss", {
            t.name: (min(p.loss for p in t.eval_loss), float(t.trainable_params)) for t in sweep.trials
        }
    if sweep.trials and all(t.train_loss for t in sweep.trials):
        return "final train loss", {
            t.name: (t.train_loss[-1].loss, float(t.trainable_params)) for t in sweep.trials
        }
    return "", {}
