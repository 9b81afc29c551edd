"""The array helpers: sort-based distinct values, and the low-bit prefilter for membership."""

from __future__ import annotations

import numpy as np

from harness.audit.arrays import distinct, maybe_in


def test_distinct_is_sorted_unique() -> None:
    values = np.random.default_rng(0).integers(0, 50, (30, 7)).astype(np.uint64)
    assert np.array_equal(distinct(values), np.unique(values))
    assert distinct(np.zeros(0, np.int64)).tolist() == [] and distinct(np.array([3])).tolist() == [3]


def test_maybe_in_keeps_every_member_and_drops_most_others() -> None:
    rng = np.random.default_rng(1)
    keys = np.sort(rng.integers(0, 2**63, 1000).astype(np.uint64))
    values = rng.integers(0, 2**63, 200_000).astype(np.uint64)
    members = rng.choice(len(values), 300, replace=False)
    values[members] = keys[rng.integers(0, len(keys), 300)]
    found = maybe_in(keys, values)
    assert set(members.tolist()) <= set(found.tolist())  # a superset: nothing in keys is dropped
    assert np.all(np.diff(found) > 0) and len(found) < 300 + 0.05 * len(values)
    assert maybe_in(keys[:0], values).tolist() == [] and maybe_in(keys, values[:0]).tolist() == []
