"""Metric definitions and base-vs-candidate comparisons on the same items.

Each metric is a ratio statistic over items (see :mod:`harness.score.stats`).
A comparison carries the delta (candidate - base), its paired bootstrap
interval, a p-value (McNemar's exact test for binary metrics, the paired
randomization test otherwise) and the items that flipped:

* binary metrics (exact_match, json_valid, schema_valid, regex_match, mmlu):
  ``regressed`` = right for the base, wrong for the candidate; ``improved`` the reverse;
* F1 and ROUGE-L: the item's score moved by more than ``FLIP_MARGIN`` (0.1, absolute);
* perplexities: the item's own perplexity rose (regressed) or fell (improved)
  by more than ``PPL_FLIP_RATIO`` (10%, relative).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from harness.results import Comparison
from harness.score.stats import (
    Paired,
    Transform,
    exp,
    identity,
    mcnemar_exact,
    paired_bootstrap_ci,
    paired_permutation_p,
    percent,
)

FLIP_MARGIN = 0.1
PPL_FLIP_RATIO = 0.10


@dataclass(frozen=True)
class MetricSpec:
    name: str
    binary: bool = True
    higher_is_better: bool = True
    transform: Transform = identity
    perplexity: bool = False  # values are summed NLLs, weights are token counts


GENERATION_METRICS = {
    "exact_match": MetricSpec("exact_match"),
    "f1": MetricSpec("f1", binary=False),
    "rouge_l": MetricSpec("rouge_l", binary=False),
    "json_valid": MetricSpec("json_valid"),
    "schema_valid": MetricSpec("schema_valid"),
    "regex_match": MetricSpec("regex_match"),
}
# suite.score.metrics selector -> the metric it yields (one each; see the engine's docstring)
SELECTOR_METRIC = {"exact_match": "exact_match", "f1": "f1", "rouge_l": "rouge_l", "json": "json_valid",
                   "schema": "schema_valid", "regex": "regex_match"}


def perplexity_spec(name: str) -> MetricSpec:
    return MetricSpec(name, binary=False, higher_is_better=False, transform=exp, perplexity=True)


def mmlu_spec(name: str) -> MetricSpec:
    return MetricSpec(name, binary=True, transform=percent)


def spec_of(metric: str) -> MetricSpec:
    """How a metric is aggregated and compared (KeyError for a name no scorer produces)."""
    if metric in GENERATION_METRICS:
        return GENERATION_METRICS[metric]
    if metric.endswith("perplexity"):
        return perplexity_spec(metric)
    if metric == "mmlu" or metric.startswith("mmlu/"):
        return mmlu_spec(metric)
    raise KeyError(metric)


@dataclass(frozen=True)
class ItemValues:
    """One model's per-item values of one metric: ``num`` (score, or summed NLL) and ``den``
    (1, or token count), by item id."""

    num: Mapping[str, float]
    den: Mapping[str, float] | None = None

    def arrays(self, ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        num = np.array([self.num[i] for i in ids], dtype=np.float64)
        if self.den is None:
            return num, np.ones_like(num)
        den = np.array([self.den[i] for i in ids], dtype=np.float64)
        return num, den


def aggregate(spec: MetricSpec, values: ItemValues) -> float:
    ids = list(values.num)
    if not ids:
        return float("nan")
    num, den = values.arrays(ids)
    return Paired.of(num, num, den, spec.transform).value(num)


def compare(spec: MetricSpec, base_name: str, base: ItemValues, cand_name: str, cand: ItemValues, *,
            resamples: int, confidence: float, seed: int = 0) -> Comparison:
    """``cand`` against ``base`` on the items both have, in the base's item order."""
    ids = [i for i in base.num if i in cand.num]
    b_num, den = base.arrays(ids)
    c_num, _ = cand.arrays(ids)
    paired = Paired.of(b_num, c_num, den, spec.transform)
    if ids:
        low, high = paired_bootstrap_ci(paired, n_resamples=resamples, confidence=confidence, seed=seed)
        p_value = (mcnemar_exact(b_num > 0.5, c_num > 0.5) if spec.binary
                   else paired_permutation_p(paired, n_resamples=resamples, seed=seed))
    else:
        low = high = p_value = float("nan")
    regressed, improved = flips(spec, ids, b_num / den, c_num / den)
    return Comparison(
        metric=spec.name, base=base_name, candidate=cand_name,
        base_value=paired.value(b_num) if ids else float("nan"),
        candidate_value=paired.value(c_num) if ids else float("nan"),
        delta=paired.delta if ids else float("nan"), ci_low=low, ci_high=high,
        p_value=None if math.isnan(p_value) else p_value, n=len(ids),
        regressed=regressed, improved=improved, higher_is_better=spec.higher_is_better)


def flips(spec: MetricSpec, ids: Sequence[str], base: np.ndarray,
          cand: np.ndarray) -> tuple[list[str], list[str]]:
    """Items that got worse / better (per-item values: score, or mean NLL for perplexity)."""
    if spec.perplexity:
        # exp(mean NLL) ratio > 1 + r  <=>  mean NLL rose by more than log(1 + r)
        step = math.log1p(PPL_FLIP_RATIO)
        worse, better = cand - base > step, base - cand > step
    elif spec.binary:
        worse, better = (base > 0.5) & (cand <= 0.5), (base <= 0.5) & (cand > 0.5)
    else:
        worse, better = base - cand > FLIP_MARGIN, cand - base > FLIP_MARGIN
    return ([i for i, w in zip(ids, worse, strict=True) if w],
            [i for i, b in zip(ids, better, strict=True) if b])


__all__ = ["FLIP_MARGIN", "GENERATION_METRICS", "PPL_FLIP_RATIO", "SELECTOR_METRIC", "ItemValues",
           "MetricSpec", "aggregate", "compare", "flips", "mmlu_spec", "perplexity_spec", "spec_of"]
