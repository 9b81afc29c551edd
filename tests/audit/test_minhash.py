"""Our vectorized signatures equal datasketch.MinHash fed the same shingle hash."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch import MinHash

from harness.audit import minhash as mh
from harness.audit.hashing import GramBatch
from harness.audit.normalize import exact_form, word_form


def datasketch_sig(form: str, size: int, num_perm: int, seed: int) -> np.ndarray:
    m = MinHash(num_perm=num_perm, seed=seed, hashfunc=mh.shingle_hash32)
    for s in mh.shingles(form, size):
        m.update(s)
    return m.hashvalues


@pytest.mark.parametrize(("num_perm", "seed", "size"), [(128, 1, 5), (64, 7, 3)])
def test_signatures_equal_datasketch(alpaca_pairs: list[tuple[str, str]], num_perm: int, seed: int,
                                     size: int) -> None:
    forms = [word_form(exact_form(p + "\n" + r)) for p, r in alpaca_pairs[:60]] + ["", "two words"]
    sig = mh.signatures(GramBatch.build(forms), size, num_perm, seed)
    for i, form in enumerate(forms):
        assert np.array_equal(sig[i], datasketch_sig(form, size, num_perm, seed)), i


def test_permutations_are_datasketchs() -> None:
    a, b = mh.permutations(128, 1)
    ref = MinHash(num_perm=128, seed=1).permutations
    assert np.array_equal(a, ref[0]) and np.array_equal(b, ref[1])


def test_text_longer_than_a_block_and_empty_text(alpaca_pairs: list[tuple[str, str]]) -> None:
    long_form = " ".join(word_form(exact_form(r)) for _, r in alpaca_pairs)  # > BLOCK shingles
    forms = ["", long_form, "a b c d e f"]
    assert len(mh.shingles(long_form, 5)) > mh.BLOCK
    sig = mh.signatures(GramBatch.build(forms), 5, 128)
    assert mh.is_empty(sig).tolist() == [True, False, False]
    assert np.array_equal(sig[0], MinHash(num_perm=128).hashvalues)  # datasketch's empty state
    assert np.array_equal(sig[1], datasketch_sig(long_form, 5, 128, 1))


def test_similar_texts_get_similar_signatures(alpaca_pairs: list[tuple[str, str]]) -> None:
    words = word_form(exact_form(alpaca_pairs[0][1])).split()
    edited = words.copy()
    edited[len(words) // 2] = "zzzz"
    sig = mh.signatures(GramBatch.build([" ".join(words), " ".join(edited),
                                         word_form(exact_form(alpaca_pairs[1][1]))]), 5, 128)
    same = (sig[0] == sig[1]).mean()
    other = (sig[0] == sig[2]).mean()
    assert same > 0.8 and other < 0.2
