"""Vectorized hashing of every k-word gram of many texts at once.

Texts arrive as word streams (:func:`harness.audit.normalize.word_bytes`):
word tokens separated by runs of spaces, texts separated by NUL.

* A word's hash folds its bytes 8 at a time (little-endian uint64 blocks,
  read straight from the buffer through a 1-byte-stride view) into
  ``h = fmix64(h * M ^ block)``, starting from its length; one vectorized
  step per 8 bytes of the longest word, over the words still that long.
* A polynomial prefix sum over word hashes (mod 2^64, wrapping uint64
  arithmetic), ``W[i] = sum_{m<i} h_m Q^m``, hashes the gram of words
  ``i .. i+n-1`` to ``fmix64((W[i+n] - W[i]) Q^-i)`` (``Q`` odd, hence
  invertible mod 2^64).

Every gram of every length thus costs O(1) numpy work, with no Python loop
per gram and no need to rebuild single-spaced text. ``fmix64`` (MurmurHash3's
finalizer) makes every output bit depend on every input bit.
:func:`gram_hash64` is the scalar reference of the same function (used by the
datasketch-compatible mode and the tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MASK64 = (1 << 64) - 1
M = 0x9FB21C651E98DF25  # multiplier folding a word's 8-byte blocks
Q = 0x9E3779B97F4A7C15  # the golden-ratio constant: odd, so invertible mod 2^64 (words in a gram)
Q_INV = pow(Q, -1, 1 << 64)
_SPACE, _SEP = 0x20, 0x00


class _Powers:
    """``base^k`` and ``base^-k`` mod 2^64 for k < capacity, grown on demand and reused."""

    def __init__(self, base: int, inverse: int) -> None:
        self.base, self.inverse = base, inverse
        self.pow = np.ones(1, dtype=np.uint64)
        self.inv = np.ones(1, dtype=np.uint64)

    def ensure(self, n: int) -> None:
        if n <= len(self.pow):
            return
        size = max(n, 2 * len(self.pow), 1 << 16)
        self.pow = _geometric(self.base, size)
        self.inv = _geometric(self.inverse, size)


def _geometric(base: int, size: int) -> np.ndarray:
    """``base^k mod 2^64`` for k < size, by doubling (uint64 products wrap: that is the mod)."""
    out = np.ones(size, dtype=np.uint64)
    filled, step = 1, base
    while filled < size:
        take = min(filled, size - filled)
        np.multiply(out[:take], np.uint64(step), out=out[filled:filled + take])
        filled += take
        step = (step * step) & MASK64
    return out


_WORD_POWERS = _Powers(Q, Q_INV)


def fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer (a bijection), element-wise, wrapping."""
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xFF51AFD7ED558CCD)
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xC4CEB9FE1A85EC53)
    return x ^ (x >> np.uint64(33))


def fmix64_int(x: int) -> int:
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & MASK64
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & MASK64
    return x ^ (x >> 33)


def word_hash64(word: bytes) -> int:
    """Scalar reference: the 64-bit hash of one word's bytes."""
    h = len(word)
    for k in range(0, len(word), 8):
        block = int.from_bytes(word[k:k + 8].ljust(8, b"\x00"), "little")
        h = fmix64_int(((h * M) & MASK64) ^ block)
    return fmix64_int(h)


def word_hashes(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """:func:`word_hash64` of every word ``data[starts[i]:ends[i]]``, vectorized."""
    padded = np.concatenate((data, np.zeros(8, dtype=np.uint8)))
    # Element i of this view is the 8 bytes starting at byte i (unaligned reads are fine in numpy).
    blocks = np.ndarray(shape=(len(data) + 1,), dtype="<u8", buffer=padded, strides=(1,))
    length = (ends - starts).astype(np.int64)
    # Most words fit one block: do that pass over all words, then loop over the long ones only.
    h = fmix64((length.astype(np.uint64) * np.uint64(M)) ^ (blocks[starts] & _tail_mask(length)))
    active = np.flatnonzero(length > 8)
    k = 1
    while len(active):
        left = length[active] - 8 * k
        block = blocks[starts[active] + 8 * k] & _tail_mask(left)
        h[active] = fmix64((h[active] * np.uint64(M)) ^ block)
        k += 1
        active = active[left > 8]
    return fmix64(h)


_TAIL_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [MASK64], dtype=np.uint64)


def _tail_mask(left: np.ndarray) -> np.ndarray:
    """Mask keeping the first ``min(left, 8)`` bytes of a little-endian block."""
    return _TAIL_MASKS[np.minimum(left, 8)]


def gram_hash64(gram: bytes) -> int:
    """Scalar reference: the hash :class:`GramBatch` gives a gram (words joined by spaces)."""
    acc, power = 0, 1
    for word in gram.split():
        acc = (acc + word_hash64(word) * power) & MASK64
        power = (power * Q) & MASK64
    return fmix64_int(acc)


def _prefix(values: np.ndarray, powers: _Powers) -> np.ndarray:
    """``[0, v0, v0 + v1 B, ...]`` mod 2^64 (numpy's int64 cumsum wraps the same, several times faster)."""
    n = len(values)
    powers.ensure(n + 1)
    out = np.zeros(n + 1, dtype=np.uint64)
    terms = values.astype(np.uint64) * powers.pow[:n]
    np.cumsum(terms.view(np.int64), out=out[1:].view(np.int64))
    return out


def tokenize(raw: bytes, docs: int) -> tuple[np.ndarray, np.ndarray]:
    """Hash every word of a NUL-separated stream: (word hashes, each of the ``docs`` texts' word offsets)."""
    data = np.frombuffer(raw, dtype=np.uint8)
    word = (data != _SPACE) & (data != _SEP)
    edges = np.flatnonzero(np.diff(np.concatenate(([False], word, [False])).view(np.int8)))
    starts, ends = edges[0::2], edges[1::2]
    word_hash = word_hashes(data, starts, ends)
    # Text d's words start after its d-th separator: search the few separators, not the words.
    seps = np.flatnonzero(data == _SEP)
    doc_words = np.concatenate(([0], np.searchsorted(starts, seps), [len(starts)])).astype(np.int64)
    if len(doc_words) != docs + 1:
        raise ValueError(f"{len(doc_words) - 1} texts in the stream, expected {docs}")
    return word_hash, doc_words


@dataclass(frozen=True)
class GramBatch:
    """Word hashes of a chunk of texts, ready to hash grams of any length."""

    prefix: np.ndarray  # uint64 (words + 1): the polynomial prefix over word hashes
    word_doc: np.ndarray  # int64: the text each word belongs to
    doc_words: np.ndarray  # int64 (docs + 1): word offsets of each text
    docs: int

    @classmethod
    def build(cls, forms: Sequence[str]) -> GramBatch:
        """From word forms (str, words separated by spaces)."""
        return cls.from_bytes("\x00".join(forms).encode("utf-8"), len(forms))

    @classmethod
    def from_streams(cls, streams: Sequence[bytes]) -> GramBatch:
        """From word streams (:func:`harness.audit.normalize.word_bytes`)."""
        return cls.from_bytes(b"\x00".join(streams), len(streams))

    @classmethod
    def from_bytes(cls, raw: bytes, docs: int) -> GramBatch:
        """Words are runs of bytes other than space and NUL; NUL separates the ``docs`` texts."""
        return cls.from_word_hashes(*tokenize(raw, docs))

    @classmethod
    def from_word_hashes(cls, word_hash: np.ndarray, doc_words: np.ndarray) -> GramBatch:
        """From word hashes in text order and each text's word offsets (texts + 1)."""
        docs = len(doc_words) - 1
        word_doc = np.repeat(np.arange(docs, dtype=np.int64), np.diff(doc_words))
        return cls(_prefix(word_hash, _WORD_POWERS), word_doc, doc_words, docs)

    def regroup(self, doc_words: np.ndarray) -> GramBatch:
        """The same word sequence cut into other texts (``doc_words``: new offsets, same words)."""
        docs = len(doc_words) - 1
        word_doc = np.repeat(np.arange(docs, dtype=np.int64), np.diff(doc_words))
        return GramBatch(self.prefix, word_doc, doc_words, docs)

    @property
    def word_counts(self) -> np.ndarray:
        return np.diff(self.doc_words)

    def span_hash(self, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """Hash of the words ``first .. last`` (inclusive)."""
        raw = (self.prefix[last + 1] - self.prefix[first]) * _WORD_POWERS.inv[first]
        return fmix64(raw)

    def grams(self, n: int, *, short_whole: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Every ``n``-word gram: (hash64, doc) arrays, ordered by doc then position.

        With ``short_whole``, a text of 1 to n-1 words yields one gram (all its
        words), the datasketch/shingling convention; otherwise it yields none.
        """
        m = max(len(self.word_doc) - n + 1, 0)
        # Windows starting at every word, in slices (no gathers); keep those inside one text.
        first = np.flatnonzero(self.word_doc[:m] == self.word_doc[n - 1:]) if m else np.zeros(0, np.int64)
        raw = (self.prefix[n:n + m] - self.prefix[:m]) * _WORD_POWERS.inv[:m]
        hashes, docs = fmix64(raw[first]), self.word_doc[first]
        if short_whole:
            counts = self.word_counts
            short = np.flatnonzero((counts > 0) & (counts < n))
            if len(short):
                whole = self.span_hash(self.doc_words[short], self.doc_words[short + 1] - 1)
                hashes, docs = np.concatenate((hashes, whole)), np.concatenate((docs, short))
                order = np.argsort(docs, kind="stable")
                hashes, docs = hashes[order], docs[order]
        return hashes, docs

    def grams_of_length(self, lengths: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Grams of every length in ``lengths``, concatenated: (hash64, doc)."""
        parts = [self.grams(k) for k in lengths]
        if not parts:
            return np.zeros(0, np.uint64), np.zeros(0, np.int64)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def whole(self) -> np.ndarray:
        """One hash per text over all its words (0 for a text without words)."""
        counts = self.word_counts
        out = np.zeros(self.docs, dtype=np.uint64)
        has = np.flatnonzero(counts > 0)
        out[has] = self.span_hash(self.doc_words[has], self.doc_words[has + 1] - 1)
        return out
