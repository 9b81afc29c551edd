"""LSH banding from datasketch's optimizer, candidate pairs, exact Jaccard, union-find."""

from __future__ import annotations

import numpy as np
from datasketch.lsh import _optimal_param

from harness.audit import lsh
from harness.audit.hashing import GramBatch
from harness.audit.minhash import signatures
from harness.audit.normalize import exact_form, word_form
from harness.audit.unionfind import UnionFind


def test_params_come_from_datasketch() -> None:
    assert lsh.lsh_params(0.8, 128, (0.5, 0.5)) == _optimal_param(0.8, 128, 0.5, 0.5)
    bands, rows = lsh.lsh_params(0.8, 128)
    assert (bands, rows) == _optimal_param(0.8, 128, 0.05, 0.95)
    assert bands * rows <= 128


def test_candidates_include_a_near_pair_and_exclude_unrelated(alpaca_pairs: list[tuple[str, str]]) -> None:
    texts = [r for _, r in alpaca_pairs[:50]]
    long = max(range(50), key=lambda i: len(texts[i].split()))
    words = texts[long].split(" ")
    words[len(words) // 2] = "CHANGED"
    texts.append(" ".join(words))  # position 50: a near duplicate of the longest text
    sig = signatures(GramBatch.build([word_form(exact_form(t)) for t in texts]), 5, 128)
    pairs = lsh.candidate_pairs(sig, *lsh.lsh_params(0.8, 128))
    assert [long, 50] in pairs.tolist()
    found = lsh.confirm(pairs, sig, texts, 0.8, 5)
    assert found.pairs.tolist() == [[long, 50]]
    sets = lsh.shingle_sets([texts[long], texts[50]], 5)
    assert abs(found.jaccard[0] - lsh.jaccard(*sets)) < 1e-12
    assert 0.8 <= found.jaccard[0] < 1.0


def test_jaccard_exact() -> None:
    a, b = np.array([1, 2, 3, 4], dtype=np.uint64), np.array([3, 4, 5], dtype=np.uint64)
    assert lsh.jaccard(a, b) == 2 / 5


def test_huge_bucket_stays_linear_and_connected() -> None:
    sig = np.zeros((500, 16), dtype=np.uint32)  # 500 identical signatures
    pairs = lsh.candidate_pairs(sig, 4, 4)
    assert len(pairs) < 2 * 500
    uf = UnionFind()
    uf.union_pairs(pairs.tolist())
    assert uf.groups() == [list(range(500))]


def test_union_find_groups() -> None:
    uf = UnionFind()
    uf.union_pairs([(1, 2), (3, 4), (2, 5), (9, 9)])
    assert uf.groups() == [[1, 2, 5], [3, 4]]
    assert uf.groups(min_size=1)[-1] == [9]
