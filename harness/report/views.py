"""What the report shows, derived from results only (no model, no data file is read here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.results import ItemScore, RunResults, SweepResult

HEADLINE = (
    "exact_match",
    "json_valid",
    "eval_perplexity",
    "general_perplexity",
    "mmlu",
    "f1",
    "rouge_l",
    "schema_valid",
    "regex_match",
)


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


def metric_columns(results: RunResults) -> list[str]:
    present = {m for values in results.models.values() for m in values}
    return [m for m in HEADLINE if m in present]


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


def sweep_objectives(results: RunResults, primary: str) -> dict[str, tuple[float, float, float]]:
    """Per trial: (-task metric, forgetting, cost) to minimise; forgetting is general perplexity."""
    out: dict[str, tuple[float, float, float]] = {}
    if results.sweep is None:
        return out
    for t in results.sweep.trials:
        m = results.models.get(t.name, {})
        task = m.get(primary)
        if task is None:
            continue
        task_sign = task if primary.endswith("perplexity") else -task
        forgetting = m.get("general_perplexity", m.get("mmlu", 0.0))
        out[t.name] = (task_sign, forgetting, float(t.trainable_params))
    return out


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
