"""Turn raw per-item results (outputs, token NLLs, MMLU verdicts) into per-item scores and metric values.

Item ids: ``eval/<index>`` (the record's 0-based number in the eval file),
``general/<index>``, ``mmlu/<subject>/<row>``. In ``items.jsonl`` each row's
``scores`` holds the selected metrics computed from the output (built-in or the
user's, by name, as their spec computes them: :mod:`harness.score.metrics`), and
where measured ``eval_perplexity`` / ``general_perplexity`` (the item's own token
perplexity) with ``eval_tokens`` / ``general_tokens``, and ``mmlu`` (0 or 1 per
item; the aggregate is in percent). ``reasons`` says why a format check failed,
what a metric's :class:`~harness.score.metrics.Score` gave as its reason, or why
an item could not be scored.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.errors import HarnessError, MetricError
from harness.results import ItemScore
from harness.score.compare import ItemValues
from harness.score.metrics import MetricItem
from harness.score.mmlu import LETTERS
from harness.score.plan import ScorePlan

Values = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class ItemTable:
    """What scoring needs besides the raw results: the plan, prompts, and model-free failures."""

    plan: ScorePlan
    prompts: dict[str, str]
    prompt_errors: dict[str, str]
    nll_skipped: dict[str, str]


@dataclass
class _Acc:
    """Per-metric numerators and denominators of one model, by item id."""

    num: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    den: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))

    def add(self, metric: str, item: str, value: float, weight: float | None = None) -> None:
        self.num[metric][item] = value
        if weight is not None:
            self.den[metric][item] = weight

    def values(self) -> dict[str, ItemValues]:
        return {m: ItemValues(dict(num), dict(self.den[m]) if m in self.den else None)
                for m, num in self.num.items()}


def score_items(table: ItemTable, raw: Mapping[str, Mapping[str, Values]]
                ) -> tuple[list[ItemScore], dict[str, dict[str, ItemValues]]]:
    """Every model's item rows, and its per-metric item values (for aggregates and comparisons)."""
    items: list[ItemScore] = []
    values: dict[str, dict[str, ItemValues]] = {}
    for name, kinds in raw.items():
        acc = _Acc()
        items += _eval_rows(table, name, kinds, acc)
        items += _general_rows(table, name, kinds.get("nll-general", {}), acc)
        items += _mmlu_rows(table, name, kinds.get("mmlu", {}), acc)
        values[name] = acc.values()
    return items, values


def generation_scores(plan: ScorePlan, output: str,
                      item: MetricItem) -> tuple[dict[str, float], dict[str, str]]:
    """Every selected output metric of ``output`` on ``item``, and the reasons the metrics gave."""
    scores: dict[str, float] = {}
    reasons: dict[str, str] = {}
    for spec in plan.output_metrics:
        try:
            score = spec.score(output, item, plan.settings)
        except HarnessError:
            raise
        except Exception as exc:  # a user's metric: name it and the item, in one line
            raise MetricError(f"metric {spec.name!r} ({spec.origin}) failed on {item.item_id}: "
                              f"{type(exc).__name__}: {exc}",
                              hint="outputs are cached: a rerun after the fix regenerates none") from exc
        scores[spec.name] = float(score.value)
        if score.reason:
            reasons[spec.name] = score.reason
    return scores, reasons


def _eval_rows(table: ItemTable, name: str, kinds: Mapping[str, Values], acc: _Acc) -> list[ItemScore]:
    plan = table.plan
    gen, nll = kinds.get("gen", {}), kinds.get("nll-eval", {})
    rows: list[ItemScore] = []
    for rec in plan.eval_records:
        item = f"eval/{rec.index}"
        output = str(gen.get(item, {}).get("output", ""))
        scores: dict[str, float] = {}
        reasons: dict[str, str] = {}
        if plan.generation:
            ended = gen.get(item, {}).get("stop")
            scores, reasons = generation_scores(
                plan, output, MetricItem(item, prompt=rec.prompt, reference=rec.response, record=rec,
                                         stop=ended if isinstance(ended, int) else None))
            if item in table.prompt_errors:
                reasons["generation"] = table.prompt_errors[item]
            for metric, value in scores.items():
                acc.add(metric, item, value)
        if plan.perplexity:
            _add_nll(acc, "eval", item, nll.get(item), table.nll_skipped.get(item), scores, reasons)
        if scores or reasons:
            rows.append(ItemScore(item_id=item, model=name, prompt=rec.prompt, output=output,
                                  reference=rec.response, scores=scores, reasons=reasons))
    return rows


def _add_nll(acc: _Acc, split: str, item: str, value: Mapping[str, Any] | None, skipped: str | None,
             scores: dict[str, float], reasons: dict[str, str]) -> None:
    metric = f"{split}_perplexity"
    if value is None:
        reasons[metric] = skipped or "not scored"
        return
    nll, tokens = float(value["nll"]), int(value["tokens"])
    acc.add(metric, item, nll, float(tokens))
    scores[metric] = math.exp(nll / tokens)
    scores[f"{split}_tokens"] = float(tokens)


def _general_rows(table: ItemTable, name: str, nll: Values, acc: _Acc) -> list[ItemScore]:
    rows: list[ItemScore] = []
    if not table.plan.perplexity:
        return rows
    for rec in table.plan.general_records:
        item = f"general/{rec.index}"
        scores: dict[str, float] = {}
        reasons: dict[str, str] = {}
        _add_nll(acc, "general", item, nll.get(item), table.nll_skipped.get(item), scores, reasons)
        rows.append(ItemScore(item_id=item, model=name, prompt="", output="", reference=rec.text,
                              scores=scores, reasons=reasons))
    return rows


def _mmlu_rows(table: ItemTable, name: str, verdicts: Values, acc: _Acc) -> list[ItemScore]:
    rows: list[ItemScore] = []
    for it in table.plan.mmlu_items:
        found = verdicts.get(it.item_id)
        if found is None:
            continue
        value = float(found["acc"])
        acc.add("mmlu", it.item_id, value)
        acc.add(f"mmlu/{it.subject}", it.item_id, value)
        rows.append(ItemScore(item_id=it.item_id, model=name, prompt=it.question,
                              output=LETTERS[int(found["pred"])], reference=LETTERS[it.answer],
                              scores={"mmlu": value}))
    return rows


__all__ = ["ItemTable", "generation_scores", "score_items"]
