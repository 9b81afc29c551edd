from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.score import stats
from harness.score.stats import (
    Paired,
    mcnemar_exact,
    mcnemar_from_counts,
    paired_bootstrap_ci,
    paired_permutation_p,
)


@pytest.mark.parametrize(("b", "c", "p"), [
    (0, 0, 1.0),
    (1, 9, 22 / 1024),  # 2 * (C(10,0) + C(10,1)) / 2**10
    (9, 1, 22 / 1024),  # symmetric
    (0, 6, 2 / 64),
    (5, 5, 1.0),
    (3, 12, 2 * (1 + 15 + 105 + 455) / 2**15),
])
def test_mcnemar_exact_on_known_tables(b: int, c: int, p: float) -> None:
    assert mcnemar_from_counts(b, c) == pytest.approx(p, rel=1e-12)


def test_mcnemar_counts_only_discordant_pairs() -> None:
    base = [1, 1, 1, 0, 0, 1, 0, 1]
    cand = [1, 0, 1, 1, 1, 1, 1, 1]  # b = 1 (item 1), c = 3 (items 3, 4, 6); 4 concordant
    assert mcnemar_exact(base, cand) == pytest.approx(mcnemar_from_counts(1, 3))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 60), st.integers(0, 60))
def test_mcnemar_matches_scipy_binomtest(b: int, c: int) -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    expected = 1.0 if b + c == 0 else scipy_stats.binomtest(min(b, c), b + c, 0.5).pvalue
    assert mcnemar_from_counts(b, c) == pytest.approx(min(1.0, expected), rel=1e-9, abs=1e-15)


def _coverage_binary(confidence: float, reps: int, n: int, seed: int) -> float:
    """Share of intervals that hold the true delta, on paired 0/1 data with a known delta."""
    rng = np.random.default_rng(seed)
    p_base, p_cand = 0.55, 0.65  # true delta 0.10; correlated through a shared latent draw
    hits = 0
    for r in range(reps):
        u = rng.random(n)
        base = (u < p_base).astype(float)
        cand = (u < p_cand).astype(float)
        flip = rng.random(n) < 0.15  # some independent noise so pairs are not nested
        cand[flip] = (rng.random(flip.sum()) < p_cand).astype(float)
        low, high = paired_bootstrap_ci(Paired.of(base, cand), n_resamples=500, confidence=confidence, seed=r)
        hits += low <= p_cand - p_base <= high
    return hits / reps


def test_bootstrap_ci_covers_a_known_delta_at_the_nominal_rate() -> None:
    # 300 replications: binomial sd of the coverage is ~0.013 at 95%, ~0.023 at 80%.
    assert 0.91 <= _coverage_binary(0.95, reps=300, n=150, seed=1) <= 0.985
    assert 0.73 <= _coverage_binary(0.80, reps=300, n=150, seed=2) <= 0.87


def test_bootstrap_ci_covers_a_known_perplexity_delta() -> None:
    """Ratio statistic exp(sum NLL / sum tokens): per-token NLL means 1.0 and 1.1, so the true
    delta of token perplexity is e^1.1 - e^1.0."""
    rng = np.random.default_rng(3)
    truth = np.exp(1.1) - np.exp(1.0)
    hits, reps = 0, 200
    for r in range(reps):
        tokens = rng.integers(5, 40, size=120).astype(float)
        shared = rng.normal(0, 0.3, size=120)
        base = tokens * (1.0 + shared + rng.normal(0, 0.1, 120))
        cand = tokens * (1.1 + shared + rng.normal(0, 0.1, 120))
        low, high = paired_bootstrap_ci(Paired.of(base, cand, tokens, stats.exp), n_resamples=400, seed=r)
        hits += low <= truth <= high
    assert 0.89 <= hits / reps <= 0.99


def test_bootstrap_is_seeded_and_independent_of_chunking(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    p = Paired.of(rng.random(300), rng.random(300))
    whole = stats.bootstrap_deltas(p, 1000, seed=7)
    monkeypatch.setattr(stats, "_MAX_DRAWS", 1000)  # 3 resamples per chunk
    chunked = stats.bootstrap_deltas(p, 1000, seed=7)
    np.testing.assert_array_equal(whole, chunked)
    assert not np.array_equal(whole, stats.bootstrap_deltas(p, 1000, seed=8))


def test_permutation_p_is_calibrated_under_the_null_and_small_under_an_effect() -> None:
    rng = np.random.default_rng(5)
    rejections = 0
    for r in range(200):
        x = rng.normal(size=80)
        y = x + rng.normal(size=80)  # no shift: exchangeable pairs
        rejections += paired_permutation_p(Paired.of(x, y), n_resamples=300, seed=r) < 0.05
    assert 0.01 <= rejections / 200 <= 0.10
    x = rng.normal(size=80)
    assert paired_permutation_p(Paired.of(x, x + 0.8 + rng.normal(0, 0.5, 80)), n_resamples=300) < 0.01


def test_delta_and_value_follow_the_transform() -> None:
    p = Paired.of([1, 0, 1, 1], [1, 1, 1, 1], transform=stats.percent)
    assert p.value(p.base) == 75.0 and p.delta == 25.0
    with pytest.raises(ValueError):
        Paired.of([1, 2], [1])
