"""Vectorized MinHash signatures, bit-for-bit compatible with ``datasketch.MinHash``.

datasketch's default ("affine32") scheme hashes each shingle to 32 bits,
pre-mixes it with the 32-bit MurmurHash3 finalizer and applies ``num_perm``
permutations ``a * h + b mod 2^32`` drawn from ``RandomState(seed)``; the
signature is the column-wise minimum. We do the same arithmetic for all the
shingles of a chunk at once (an outer product in uint32 plus
``np.minimum.reduceat`` over each text's shingles), in blocks that keep the
temporary array small.

The shingle hash is ours (see :mod:`harness.audit.hashing`): it is what makes
hashing vectorizable, where datasketch's default SHA-1 needs a Python call per
shingle. :func:`shingle_hash32` is that hash as a plain function, so
``datasketch.MinHash(num_perm, seed=seed, hashfunc=shingle_hash32)`` fed with
:func:`shingles` gives exactly our signatures (the datasketch-compatible mode
the tests and ``bench/minhash.py`` check).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from datasketch import MinHash

from harness.audit.hashing import GramBatch, gram_hash64

MAX32 = np.uint32(0xFFFFFFFF)
BLOCK = 8192  # shingles per block: num_perm x BLOCK uint32 stays within a few MB


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's own affine32 permutation parameters (a, b) for this seed."""
    a, b = MinHash(num_perm=num_perm, seed=seed).permutations
    return np.ascontiguousarray(a, dtype=np.uint32), np.ascontiguousarray(b, dtype=np.uint32)


def fmix32(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, as datasketch applies it before permuting."""
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x85EBCA6B)
    x = x ^ (x >> np.uint32(13))
    x = x * np.uint32(0xC2B2AE35)
    return x ^ (x >> np.uint32(16))


def shingle_hash32(shingle: bytes) -> int:
    """The 32-bit shingle hash as a datasketch ``hashfunc``."""
    return gram_hash64(shingle) >> 32


def shingles(word_form: str, size: int) -> list[bytes]:
    """The shingles of one word-form text, as bytes (the datasketch-compatible input)."""
    words = word_form.split(" ") if word_form else []
    if not words:
        return []
    if len(words) < size:
        return [" ".join(words).encode("utf-8")]
    return [" ".join(words[i:i + size]).encode("utf-8") for i in range(len(words) - size + 1)]


def signatures(batch: GramBatch, shingle_size: int, num_perm: int, seed: int = 1) -> np.ndarray:
    """(texts, num_perm) uint32 signatures; a text without words keeps the empty signature."""
    h64, docs = batch.grams(shingle_size, short_whole=True)
    return signatures_from_hashes((h64 >> np.uint64(32)).astype(np.uint32), docs, batch.docs,
                                  num_perm, seed)


def signatures_from_hashes(h32: np.ndarray, docs: np.ndarray, n_docs: int, num_perm: int,
                           seed: int = 1) -> np.ndarray:
    """Signatures from 32-bit shingle hashes grouped by (sorted) ``docs``."""
    a, b = permutations(num_perm, seed)
    sig = np.full((n_docs, num_perm), MAX32, dtype=np.uint32)
    hv = fmix32(h32.astype(np.uint32, copy=False))
    # Permutations along rows, shingles along columns: reduceat then runs over
    # contiguous memory, several times faster than the (shingles, num_perm) layout.
    buf = np.empty((num_perm, BLOCK), dtype=np.uint32)
    for lo in range(0, len(hv), BLOCK):
        hi = min(lo + BLOCK, len(hv))
        block = buf[:, : hi - lo]
        np.multiply(a[:, None], hv[None, lo:hi], out=block)  # wraps: mod 2^32
        np.add(block, b[:, None], out=block)
        d = docs[lo:hi]
        seg = np.flatnonzero(np.concatenate(([True], d[1:] != d[:-1])))
        ids = d[seg]
        # A text's shingles may straddle two blocks: fold into what is there.
        sig[ids] = np.minimum(sig[ids], np.minimum.reduceat(block, seg, axis=1).T)
    return sig


def is_empty(sig: np.ndarray) -> np.ndarray:
    """Rows that saw no shingle (the all-max signature)."""
    return np.all(sig == MAX32, axis=1)
