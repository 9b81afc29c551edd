"""The signature stage: one pass over a field's texts that computes everything the checks need.

Per row: the exact-duplicate key, the word count, the MinHash signature and,
for each probe (eval or benchmark gram index), which indexed grams the row
holds. Only these compact results leave the pass, so a 100k-row train set
never holds its shingle or n-gram sets in memory: chunks are hashed, probed
and dropped. :func:`scan_chunk` is what a worker process (or Ray task) runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from harness.audit.hashing import GramBatch
from harness.audit.minhash import signatures
from harness.audit.ngrams import GramProbe, Hits, probe_rows
from harness.audit.normalize import exact_keys, word_stream

CHUNK_CHARS = 1_500_000  # text per task: big enough to amortize numpy calls, small in memory
CHUNK_ROWS = 4096


@dataclass(frozen=True)
class ScanSpec:
    """What to compute for one field."""

    shingle_size: int = 5
    num_perm: int = 128
    seed: int = 1
    signatures: bool = True
    keys: bool = True  # exact-duplicate keys (a pure n-gram scan can skip them)
    collect_ngram: int | None = None  # also return every n-gram (to build an index from)
    probes: tuple[GramProbe, ...] = ()


@dataclass(frozen=True)
class Collisions:
    """Rows sharing an LSH band bucket with some row of another split (the eval rows' band table)."""

    hits: Hits  # distinct (row, position of the band key in the table), rows global
    rows: np.ndarray  # int64, the distinct rows of ``hits``, sorted
    sig: np.ndarray  # (len(rows), num_perm) uint32: their signatures, for the MinHash estimate

    @classmethod
    def concat(cls, parts: Sequence[Collisions], num_perm: int) -> Collisions:
        if not parts:
            return cls(Hits.empty(), np.zeros(0, np.int64), np.zeros((0, num_perm), np.uint32))
        return cls(Hits.concat([p.hits for p in parts]), np.concatenate([p.rows for p in parts]),
                   np.concatenate([p.sig for p in parts]))


@dataclass(frozen=True)
class FieldScan:
    """The per-row results of one field's pass."""

    keys: np.ndarray  # uint64 exact-normalized key (0: empty text)
    words: np.ndarray  # int64 word count
    sig: np.ndarray | None  # (rows, num_perm) uint32
    hits: tuple[Hits, ...] = ()  # one per probe, rows are global
    grams: tuple[np.ndarray, np.ndarray] | None = None  # (hash64, row) when collected
    rows: int = field(default=0)
    bands: np.ndarray | None = None  # (bands, rows) uint64 LSH band keys, when kept
    cross: Collisions | None = None  # band-bucket collisions with another split's rows


def scan_chunk(texts: Sequence[str], spec: ScanSpec, offset: int) -> FieldScan:
    keys = exact_keys(texts) if spec.keys else np.zeros(len(texts), dtype=np.uint64)
    batch = GramBatch.from_bytes(word_stream(texts), len(texts))
    sig = signatures(batch, spec.shingle_size, spec.num_perm, spec.seed) if spec.signatures else None
    hits = []
    for probe in spec.probes:
        hashes, docs = batch.grams_of_length(probe.lengths)
        hits.append(probe_rows(probe, hashes, docs + offset))
    grams = None
    if spec.collect_ngram:
        hashes, docs = batch.grams(spec.collect_ngram)
        grams = (hashes, docs + offset)
    return FieldScan(keys, batch.word_counts.astype(np.int64), sig, tuple(hits), grams, len(texts))


def merge_scans(parts: Sequence[FieldScan], spec: ScanSpec) -> FieldScan:
    """Concatenate chunk results in row order."""
    if not parts:
        empty_sig = np.zeros((0, spec.num_perm), dtype=np.uint32) if spec.signatures else None
        grams = (np.zeros(0, np.uint64), np.zeros(0, np.int64)) if spec.collect_ngram else None
        return FieldScan(np.zeros(0, np.uint64), np.zeros(0, np.int64), empty_sig,
                         tuple(Hits.empty() for _ in spec.probes), grams, 0)
    sig = np.concatenate([p.sig for p in parts if p.sig is not None]) if spec.signatures else None
    hits = tuple(Hits.concat([p.hits[i] for p in parts]) for i in range(len(spec.probes)))
    grams = None
    if spec.collect_ngram:
        grams = (np.concatenate([p.grams[0] for p in parts if p.grams is not None]),
                 np.concatenate([p.grams[1] for p in parts if p.grams is not None]))
    return FieldScan(np.concatenate([p.keys for p in parts]), np.concatenate([p.words for p in parts]),
                     sig, hits, grams, sum(p.rows for p in parts))


def chunk_bounds(texts: Sequence[str] | Sequence[bytes], max_chars: int | None = None,
                 max_rows: int | None = None) -> list[tuple[int, int]]:
    """Row ranges of about ``max_chars`` characters each (a huge row gets its own chunk)."""
    sizes = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    return chunk_sizes(sizes, max_chars or CHUNK_CHARS, max_rows or CHUNK_ROWS)


def chunk_sizes(sizes: np.ndarray, max_chars: int, max_rows: int) -> list[tuple[int, int]]:
    """Row ranges of about ``max_chars`` in total ``sizes`` and at most ``max_rows`` rows each."""
    ends = np.cumsum(sizes)
    bounds, lo = [], 0
    while lo < len(sizes):
        base = ends[lo - 1] if lo else 0
        # First row whose running size reaches max_chars closes the chunk (at least one row).
        hi = int(np.searchsorted(ends, base + max_chars, side="left")) + 1
        hi = max(lo + 1, min(hi, lo + max_rows, len(sizes)))
        bounds.append((lo, hi))
        lo = hi
    return bounds
