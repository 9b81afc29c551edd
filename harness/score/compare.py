"""Base-vs-candidate comparisons of one metric on the same items, as its spec says.

Each metric is a ratio statistic over items (see :mod:`harness.score.stats`), aggregated
as its :class:`~harness.score.metrics.MetricSpec` says. A comparison carries the delta
(candidate - base), its paired bootstrap interval, a p-value (McNemar's exact test for
binary metrics, the paired randomization test otherwise) and the items that flipped:

* binary metrics (exact_match, json_valid, schema_valid, regex_match, mmlu, and users'
  metrics declared or found 0/1): ``regressed`` = right for the base, wrong for the
  candidate; ``improved`` the reverse;
* other 0-1 scores (F1, ROUGE-L...): the item's score moved by more than the spec's
  ``flip_margin`` (0.1, absolute, by default);
* perplexities: the item's own perplexity rose (regressed) or fell (improved) by more
  than ``flip_margin`` (10%, relative).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from harness.results import Comparison, ci_note
from harness.score.metrics.spec import MetricSpec
from harness.score.stats import Paired, mcnemar_exact, paired_bootstrap_ci, paired_permutation_p


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
    binary = is_binary(spec, b_num / den, c_num / den)
    if ids:
        low, high = paired_bootstrap_ci(paired, n_resamples=resamples, confidence=confidence, seed=seed)
        p_value = (mcnemar_exact(b_num > 0.5, c_num > 0.5) if binary
                   else paired_permutation_p(paired, n_resamples=resamples, seed=seed))
    else:
        low = high = p_value = float("nan")
    regressed, improved = flips(spec, ids, b_num / den, c_num / den, binary=binary)
    return Comparison(
        metric=spec.name, base=base_name, candidate=cand_name,
        base_value=paired.value(b_num) if ids else float("nan"),
        candidate_value=paired.value(c_num) if ids else float("nan"),
        delta=paired.delta if ids else float("nan"), ci_low=low, ci_high=high,
        p_value=None if math.isnan(p_value) else p_value, n=len(ids),
        regressed=regressed, improved=improved, higher_is_better=spec.higher_is_better,
        ci_note=ci_note(len(ids)))


def is_binary(spec: MetricSpec, base: np.ndarray, cand: np.ndarray) -> bool:
    """The spec's ``binary``; when it leaves that open, whether every item value is 0 or 1."""
    if spec.binary is not None:
        return spec.binary
    both = np.concatenate([base, cand])
    return bool(np.all((both == 0.0) | (both == 1.0)))


def flips(spec: MetricSpec, ids: Sequence[str], base: np.ndarray, cand: np.ndarray, *,
          binary: bool | None = None) -> tuple[list[str], list[str]]:
    """Items that got worse / better (per-item values: score, or mean NLL for perplexity)."""
    if spec.perplexity:
        # exp(mean NLL) ratio > 1 + r  <=>  mean NLL rose by more than log(1 + r)
        step = math.log1p(spec.flip_margin)
        worse, better = cand - base > step, base - cand > step
    elif is_binary(spec, base, cand) if binary is None else binary:
        worse, better = (base > 0.5) & (cand <= 0.5), (base <= 0.5) & (cand > 0.5)
    else:
        worse, better = base - cand > spec.flip_margin, cand - base > spec.flip_margin
    return ([i for i, w in zip(ids, worse, strict=True) if w],
            [i for i, b in zip(ids, better, strict=True) if b])


__all__ = ["ItemValues", "aggregate", "compare", "flips", "is_binary"]
