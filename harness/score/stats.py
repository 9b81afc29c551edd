"""Paired statistics for base-vs-candidate comparisons on the same items.

Every metric here is a *ratio statistic* ``f(sum(num) / sum(den))`` over items:

* a per-item score (exact match, F1, JSON valid...): ``num`` = the score,
  ``den`` = 1, ``f`` = identity (or x100 for MMLU in percent points);
* perplexity: ``num`` = the item's summed token NLL, ``den`` = its token count,
  ``f`` = exp: the corpus-level token perplexity.

:func:`paired_bootstrap_ci` resamples *items* (the same resample for both
models, so their correlation is kept) and gives the percentile interval of the
delta. :func:`paired_permutation_p` is the two-sided paired randomization test
(swap base and candidate on random items). :func:`mcnemar_exact` is McNemar's
exact (binomial) test for binary per-item outcomes. All are seeded and
vectorized with numpy, in chunks that keep memory bounded for large item sets.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Transform = Callable[[NDArray[np.float64]], NDArray[np.float64]]
FloatArray = NDArray[np.float64]

# Resample rows held in memory at once: chunk * n_items <= this many draws.
_MAX_DRAWS = 4_000_000


def identity(x: FloatArray) -> FloatArray:
    return x


def percent(x: FloatArray) -> FloatArray:
    return x * 100.0


def exp(x: FloatArray) -> FloatArray:
    return np.exp(x)


@dataclass(frozen=True)
class Paired:
    """One metric on the same items for two models: per-item numerators, shared denominators."""

    base: FloatArray
    candidate: FloatArray
    den: FloatArray
    transform: Transform = identity

    @classmethod
    def of(cls, base: object, candidate: object, den: object | None = None,
           transform: Transform = identity) -> Paired:
        b = np.asarray(base, dtype=np.float64)
        c = np.asarray(candidate, dtype=np.float64)
        if b.shape != c.shape or b.ndim != 1:
            raise ValueError(f"paired arrays must be 1-D and the same length, got {b.shape} and {c.shape}")
        d = np.ones_like(b) if den is None else np.asarray(den, dtype=np.float64)
        if d.shape != b.shape:
            raise ValueError("den must match the items")
        return cls(b, c, d, transform)

    @property
    def n(self) -> int:
        return int(self.base.shape[0])

    def value(self, num: FloatArray) -> float:
        total = float(self.den.sum())
        if total == 0:
            return float("nan")
        return float(self.transform(np.array([num.sum() / total]))[0])

    @property
    def delta(self) -> float:
        return self.value(self.candidate) - self.value(self.base)


def _chunks(n_items: int, n_resamples: int) -> list[int]:
    step = max(1, _MAX_DRAWS // max(n_items, 1))
    return [min(step, n_resamples - s) for s in range(0, n_resamples, step)]


def bootstrap_deltas(p: Paired, n_resamples: int, seed: int = 0) -> FloatArray:
    """The delta on each of ``n_resamples`` paired item resamples."""
    rng = np.random.default_rng(seed)
    out: list[FloatArray] = []
    for size in _chunks(p.n, n_resamples):
        idx = rng.integers(0, p.n, size=(size, p.n))
        den = p.den[idx].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cand = p.transform(p.candidate[idx].sum(axis=1) / den)
            base = p.transform(p.base[idx].sum(axis=1) / den)
        out.append(cand - base)
    return np.concatenate(out) if out else np.empty(0)


def paired_bootstrap_ci(p: Paired, *, n_resamples: int = 2000, confidence: float = 0.95,
                        seed: int = 0) -> tuple[float, float]:
    """Percentile interval of the candidate-minus-base delta (items resampled with replacement)."""
    if p.n == 0:
        return float("nan"), float("nan")
    deltas = bootstrap_deltas(p, n_resamples, seed)
    deltas = deltas[np.isfinite(deltas)]
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(deltas, [alpha, 1.0 - alpha])
    return float(low), float(high)


def paired_permutation_p(p: Paired, *, n_resamples: int = 2000, seed: int = 0) -> float:
    """Two-sided paired randomization test: how often a random base/candidate swap per item
    gives a delta at least as large (in absolute value) as the observed one."""
    if p.n == 0:
        return float("nan")
    observed = abs(p.delta)
    rng = np.random.default_rng(seed)
    total = float(p.den.sum())
    extreme = 0
    for size in _chunks(p.n, n_resamples):
        swap = rng.random((size, p.n)) < 0.5
        cand = np.where(swap, p.base, p.candidate).sum(axis=1) / total
        base = np.where(swap, p.candidate, p.base).sum(axis=1) / total
        deltas = np.abs(p.transform(cand) - p.transform(base))
        # A small tolerance so ties with the observed delta (common for 0/1 scores) count as extreme.
        extreme += int((deltas >= observed - 1e-12 * max(1.0, observed)).sum())
    return (1 + extreme) / (1 + n_resamples)


def mcnemar_exact(base: object, candidate: object) -> float:
    """McNemar's exact test p-value (two-sided) for paired binary outcomes.

    Only discordant items count: ``b`` = base right and candidate wrong, ``c`` = the
    reverse. Under the null each discordant item is a fair coin, so the p-value is
    ``min(1, 2 * P(X <= min(b, c)))`` with ``X ~ Binomial(b + c, 1/2)``, computed exactly
    with integer arithmetic. No discordant items: p = 1.
    """
    b_arr = np.asarray(base, dtype=bool)
    c_arr = np.asarray(candidate, dtype=bool)
    b = int((b_arr & ~c_arr).sum())
    c = int((~b_arr & c_arr).sum())
    return mcnemar_from_counts(b, c)


def mcnemar_from_counts(b: int, c: int) -> float:
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1))
    # 2 * tail / 2**n, as an exact integer ratio (no float overflow for large n)
    return min(1.0, tail / (1 << (n - 1)))


__all__ = ["Paired", "bootstrap_deltas", "exp", "identity", "mcnemar_exact", "mcnemar_from_counts",
           "paired_bootstrap_ci", "paired_permutation_p", "percent"]
