"""A set of gram hashes from small "query" texts (eval rows, benchmark documents), probed by large ones.

The index is built once, vectorized: sorted unique uint64 gram hashes plus, for
each hash, the query texts holding it (CSR postings). Probing a chunk of train
grams is a bitmap test (one gather per gram; most train grams miss) followed by
``np.searchsorted`` for the survivors, so a scan never builds a Python set.

Grams held by too many query texts are boilerplate (a prompt template, "as an
AI language model ..."), not evidence of leakage: :meth:`GramIndex.build`
drops them and says how many it dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.audit.arrays import distinct
from harness.audit.hashing import GramBatch
from harness.audit.normalize import word_form


def _bitmap(keys: Sequence[np.ndarray]) -> tuple[np.ndarray, int]:
    """A bitmap of the top bits of every key (about 1.5% false hits), and the shift to those bits.

    Each array of ``keys`` is sorted (a probe's keys are)."""
    total = sum(len(k) for k in keys)
    bits = int(np.clip(np.ceil(np.log2(max(total, 1) * 64)), 16, 28))
    shift = 64 - bits
    tops = [(k >> np.uint64(shift)).astype(np.int64) for k in keys]  # each sorted, as its keys are
    top = tops[0] if len(tops) == 1 else np.sort(np.concatenate(tops)) if tops else np.zeros(0, np.int64)
    bitmap = np.zeros(1 << max(bits - 6, 0), dtype=np.uint64)
    if len(top):  # several tops share a word: OR them together per word (top is sorted)
        word = top >> 6
        starts = np.flatnonzero(np.concatenate(([True], word[1:] != word[:-1])))
        bitmap[word[starts]] = np.bitwise_or.reduceat(np.uint64(1) << (top & 63).astype(np.uint64), starts)
    return bitmap, shift


def _maybe(bitmap: np.ndarray, shift: int, hashes: np.ndarray) -> np.ndarray:
    """Positions in ``hashes`` whose top bits are set in ``bitmap``."""
    top = (hashes >> np.uint64(shift)).astype(np.int64)
    return np.flatnonzero(bitmap[top >> 6] & _BIT[top & 63])


_BIT = np.uint64(1) << np.arange(64, dtype=np.uint64)


@dataclass(frozen=True)
class GramFilter:
    """The bitmap of several probes' keys together: one test per gram drops most grams for all of them."""

    bitmap: np.ndarray
    shift: int

    @classmethod
    def of(cls, probes: Sequence[GramProbe]) -> GramFilter:
        return cls(*_bitmap([p.keys for p in probes]))

    def maybe(self, hashes: np.ndarray) -> np.ndarray:
        return _maybe(self.bitmap, self.shift, hashes)


@dataclass(frozen=True)
class GramProbe:
    """What a worker needs to test grams for membership: keys, a bitmap, gram lengths."""

    keys: np.ndarray  # uint64, sorted unique
    bitmap: np.ndarray  # uint64 words: bit (h >> shift) set when some key has those top bits
    shift: int
    lengths: tuple[int, ...]  # gram lengths (in words) the keys were made from

    @classmethod
    def of(cls, keys: np.ndarray, lengths: Sequence[int]) -> GramProbe:
        return cls(keys, *_bitmap([keys]), tuple(lengths))

    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions in ``hashes`` that are keys, and which key each is."""
        if not len(self.keys) or not len(hashes):
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        maybe = _maybe(self.bitmap, self.shift, hashes)
        pos = np.searchsorted(self.keys, hashes[maybe])
        pos = np.minimum(pos, len(self.keys) - 1)
        hit = self.keys[pos] == hashes[maybe]
        return maybe[hit], pos[hit]


def sort_pairs(hashes: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """The order sorting (hash, doc) pairs by hash, then doc: ``np.lexsort((docs, hashes))``.

    An unstable argsort of the hashes is several times faster than two stable
    passes; only the runs of equal hashes (one gram in several texts) are then
    sorted by doc.
    """
    order = np.argsort(hashes)
    h = hashes[order]
    tied = np.zeros(len(h), dtype=bool)
    if len(h) > 1:
        same = h[1:] == h[:-1]
        tied[1:] |= same
        tied[:-1] |= same
    sub = np.flatnonzero(tied)
    if len(sub):
        inner = order[sub]
        order[sub] = inner[np.lexsort((docs[inner], h[sub]))]
    return order


@dataclass(frozen=True)
class GramIndex:
    """Gram hashes of query texts with their postings; ``probe`` goes to workers."""

    probe: GramProbe
    post_ptr: np.ndarray  # int64 (keys + 1)
    post_docs: np.ndarray  # int64: query text ids, grouped by key
    dropped: int  # boilerplate grams left out
    max_docs: int  # a gram in more query texts than this was dropped

    @property
    def keys(self) -> np.ndarray:
        return self.probe.keys

    @classmethod
    def build(cls, hashes: np.ndarray, docs: np.ndarray, n_docs: int, lengths: Sequence[int], *,
              max_share: float, min_docs: int) -> GramIndex:
        """Index (hash, query doc) pairs; drop grams in more than max(min_docs, share * n) docs."""
        order = sort_pairs(hashes, docs)
        h, d = hashes[order], docs[order].astype(np.int64)
        fresh = np.ones(len(h), dtype=bool)
        fresh[1:] = (h[1:] != h[:-1]) | (d[1:] != d[:-1])
        h, d = h[fresh], d[fresh]  # distinct (gram, doc) pairs, sorted by gram
        starts = np.flatnonzero(np.concatenate(([True], h[1:] != h[:-1])))[: len(h)]  # each key's run
        counts = np.diff(np.append(starts, len(h)))
        limit = max(min_docs, int(max_share * n_docs))
        keep = counts <= limit
        ptr = np.concatenate(([0], np.cumsum(counts[keep]))).astype(np.int64)
        post = d[np.repeat(keep, counts)]  # the kept keys' runs, in order
        return cls(GramProbe.of(h[starts[keep]], lengths), ptr, post, int((~keep).sum()), limit)

    def docs_of(self, key_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Expand key positions to (which input, query doc) pairs."""
        counts = self.post_ptr[key_pos + 1] - self.post_ptr[key_pos]
        which = np.repeat(np.arange(len(key_pos)), counts)
        base = np.repeat(self.post_ptr[key_pos], counts)
        offset = np.arange(len(which)) - np.repeat(np.cumsum(counts) - counts, counts)
        return which, self.post_docs[base + offset]


@dataclass(frozen=True)
class Hits:
    """Distinct (row, key position) pairs where a scanned text holds an indexed gram."""

    rows: np.ndarray  # int64
    keys: np.ndarray  # int64 positions in the index's keys

    @classmethod
    def empty(cls) -> Hits:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))

    @classmethod
    def concat(cls, parts: Sequence[Hits]) -> Hits:
        if not parts:
            return cls.empty()
        return cls(np.concatenate([p.rows for p in parts]), np.concatenate([p.keys for p in parts]))


def probe_rows(probe: GramProbe, hashes: np.ndarray, rows: np.ndarray) -> Hits:
    """Distinct (row, key) hits of grams ``hashes`` found in rows ``rows``."""
    where, keypos = probe.lookup(hashes)
    if not len(where):
        return Hits.empty()
    combined = distinct((rows[where].astype(np.int64) << 32) | keypos)
    return Hits(combined >> 32, combined & 0xFFFFFFFF)


def drop_frequent(hits: Hits, max_rows: int) -> tuple[Hits, int]:
    """Leave out keys hit by more than ``max_rows`` scanned rows (boilerplate on that side)."""
    if not len(hits.keys):
        return hits, 0
    keys, counts = np.unique(hits.keys, return_counts=True)
    frequent = keys[counts > max_rows]
    if not len(frequent):
        return hits, 0
    keep = ~np.isin(hits.keys, frequent)
    return Hits(hits.rows[keep], hits.keys[keep]), len(frequent)


def gram_texts(text: str, hashes: set[int], lengths: Sequence[int], limit: int = 3) -> list[str]:
    """Up to ``limit`` word grams of ``text`` (of the given lengths) whose hashes are in ``hashes``."""
    form = word_form(text)
    words = form.split(" ")
    batch = GramBatch.build([form])
    out: list[str] = []
    for n in sorted(set(lengths), reverse=True):
        found, _ = batch.grams(n)
        for pos, h in enumerate(found.tolist()):
            if h in hashes and len(out) < limit:
                out.append(" ".join(words[pos:pos + n]))
    return out


def informative_postings(index: GramIndex, hits: Hits, grams: tuple[np.ndarray, np.ndarray], n: int,
                         max_train_rows: int) -> np.ndarray:
    """Codes ``key * docs + doc`` of query-gram occurrences that are evidence, not template.

    A gram is boilerplate when too many query texts (dropped at build) or too
    many scanned rows (``max_train_rows``) hold it. The words such grams cover
    are boilerplate words of that text; a gram still counts only if most of its
    words (n // 2 + 1) are not. This is what stops a shared prompt template
    from "leaking" through the grams that run from its last words into the
    first words of an instruction ("... completes the request. Describe the").
    ``grams`` are the query texts' n-grams in (text, position) order.
    """
    hashes, docs = grams
    if not len(hashes) or not len(index.keys) or not len(hits.keys):
        return np.zeros(0, dtype=np.int64)
    stride = max(int(docs.max()) + 1, 1)
    # Only query texts some scanned row hit can matter: look at their grams alone.
    _, hit_docs = index.docs_of(distinct(hits.keys))
    mine = np.isin(docs, distinct(hit_docs))
    hashes, docs = hashes[mine], docs[mine]
    train_df = np.bincount(hits.keys, minlength=len(index.keys)) if len(hits.keys) else \
        np.zeros(len(index.keys), dtype=np.int64)
    pos = np.minimum(np.searchsorted(index.keys, hashes), len(index.keys) - 1)
    known = index.keys[pos] == hashes
    boiler = ~known | (train_df[pos] > max_train_rows)
    # Word offsets: the text's grams are consecutive, gram j of a text starts at its word j.
    first = np.searchsorted(docs, docs, side="left")
    doc_ids, gram_counts = np.unique(docs, return_counts=True)
    word_base = np.zeros(len(doc_ids), dtype=np.int64)
    word_base[1:] = np.cumsum(gram_counts + n - 1)[:-1]
    start = word_base[np.searchsorted(doc_ids, docs)] + (np.arange(len(docs)) - first)
    total = int(word_base[-1] + gram_counts[-1] + n - 1)
    enter = np.bincount(start[boiler], minlength=total + 1)
    leave = np.bincount(start[boiler] + n, minlength=total + n + 1)[: total + 1]
    diff = enter - leave
    covered = np.concatenate(([0], np.cumsum(np.cumsum(diff)[:total] > 0)))
    fresh = n - (covered[start + n] - covered[start])
    keep = ~boiler & (fresh >= n // 2 + 1)
    return distinct(pos[keep].astype(np.int64) * stride + docs[keep])
