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

from harness.audit.hashing import GramBatch
from harness.audit.normalize import word_form


@dataclass(frozen=True)
class GramProbe:
    """What a worker needs to test grams for membership: keys, a bitmap, gram lengths."""

    keys: np.ndarray  # uint64, sorted unique
    bitmap: np.ndarray  # uint64 words: bit (h >> shift) set when some key has those top bits
    shift: int
    lengths: tuple[int, ...]  # gram lengths (in words) the keys were made from

    @classmethod
    def of(cls, keys: np.ndarray, lengths: Sequence[int]) -> GramProbe:
        bits = int(np.clip(np.ceil(np.log2(max(len(keys), 1) * 64)), 16, 28))  # ~1.5% false hits
        shift = 64 - bits
        bitmap = np.zeros(1 << max(bits - 6, 0), dtype=np.uint64)
        top = (keys >> np.uint64(shift)).astype(np.int64)
        np.bitwise_or.at(bitmap, top >> 6, np.uint64(1) << (top & 63).astype(np.uint64))
        return cls(keys, bitmap, shift, tuple(lengths))

    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions in ``hashes`` that are keys, and which key each is."""
        if not len(self.keys) or not len(hashes):
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        top = (hashes >> np.uint64(self.shift)).astype(np.int64)
        bit = (self.bitmap[top >> 6] >> (top & 63).astype(np.uint64)) & np.uint64(1)
        maybe = np.flatnonzero(bit)
        pos = np.searchsorted(self.keys, hashes[maybe])
        pos = np.minimum(pos, len(self.keys) - 1)
        hit = self.keys[pos] == hashes[maybe]
        return maybe[hit], pos[hit]


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
        order = np.lexsort((docs, hashes))
        h, d = hashes[order], docs[order].astype(np.int64)
        fresh = np.ones(len(h), dtype=bool)
        fresh[1:] = (h[1:] != h[:-1]) | (d[1:] != d[:-1])
        h, d = h[fresh], d[fresh]  # distinct (gram, doc) pairs, sorted by gram
        keys, starts, counts = np.unique(h, return_index=True, return_counts=True)
        limit = max(min_docs, int(max_share * n_docs))
        keep = counts <= limit
        keys, starts, counts = keys[keep], starts[keep], counts[keep]
        ptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        take = np.repeat(starts, counts) + (np.arange(ptr[-1]) - np.repeat(ptr[:-1], counts))
        post = d[take]
        return cls(GramProbe.of(keys, lengths), ptr, post, int((~keep).sum()), limit)

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
    combined = np.unique((rows[where].astype(np.int64) << 32) | keypos)
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
    _, hit_docs = index.docs_of(np.unique(hits.keys))
    mine = np.isin(docs, np.unique(hit_docs))
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
    return np.unique(pos[keep].astype(np.int64) * stride + docs[keep])
