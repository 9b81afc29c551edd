"""The signature stage over records: one pass over a chunk of rows computes what every check needs.

Per row and field (record, prompt, response): the exact-duplicate key, the
word count, the MinHash signature, LSH band keys, which indexed grams (eval or
benchmark) the field holds and which eval rows share one of its LSH buckets;
and the hits of the per-row checks that judge each row alone and of the set
checks' row phases (:mod:`harness.audit.chunk_checks`), which read the chunk's
prompts and responses (they do not leave the worker). Each turn is tokenized, hashed and shingled once
(:mod:`harness.audit.layout`); a field's signature is the minimum of its turns'
signatures and of the few shingles that cross from one turn into the next,
which is exactly the signature of the field's own shingle set. Only compact
arrays leave a chunk; :func:`scan_rows` is what a worker process runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.audit.arrays import distinct
from harness.audit.checks import AuditCheck
from harness.audit.chunk_checks import ChunkResult, merge, run_on_chunk
from harness.audit.hashing import GramBatch, tokenize
from harness.audit.layout import FIELDS, FieldWords, Layout, across_grams, field_words, joined_grams, layout
from harness.audit.lsh import band_keys
from harness.audit.minhash import signatures_from_hashes
from harness.audit.ngrams import GramFilter, GramProbe, Hits, probe_rows
from harness.audit.normalize import exact_stream, word_stream
from harness.audit.scan import Collisions, FieldScan
from harness.data.record import Record


@dataclass(frozen=True)
class CrossProbe:
    """The band keys of the eval rows, probed by one field of the train rows."""

    probe: GramProbe
    min_words: int  # train rows with fewer words in the field are not compared


@dataclass(frozen=True)
class RowSpec:
    """What to compute for one split."""

    shingle_size: int = 5
    num_perm: int = 128
    seed: int = 1
    bands: int = 16
    band_rows: int = 8
    keep_sig: tuple[str, ...] = FIELDS  # fields whose signatures are returned
    keep_bands: tuple[str, ...] = ("record",)  # fields whose band keys are returned
    collect_ngram: int | None = None  # also return every n-gram of every field (to index)
    probes: Mapping[str, tuple[GramProbe, ...]] = field(default_factory=dict)  # field -> gram probes
    filters: Mapping[int, GramFilter] = field(default_factory=dict)  # gram length -> every probe's keys
    cross: Mapping[str, CrossProbe] = field(default_factory=dict)  # field -> eval band keys
    split: str = "train"  # what the per-row checks' Rows call the split
    row_checks: tuple[tuple[AuditCheck, dict[str, Any]], ...] = ()  # (check, effective params)
    tokenizer: Any = None  # for the per-row checks that read it


@dataclass(frozen=True)
class RowScan:
    """Compact arrays only: the texts stay where the records are (a file is parsed again for the
    few rows a finding shows), so the parent never receives or holds the split's texts."""

    fields: dict[str, FieldScan]
    checks: dict[str, ChunkResult]  # the per-row checks (and set checks' row phases) run on these rows
    rows: int
    remote: Any = None  # on Ray: where the record signatures and band keys are (ray_lsh.RemoteSplit)


def _segment_batch(stream: bytes, count: int) -> tuple[GramBatch, np.ndarray]:
    if count == 0:
        empty = np.zeros(0, np.uint64)
        return GramBatch.from_word_hashes(empty, np.zeros(1, np.int64)), empty
    hashes, doc_words = tokenize(stream, count)
    return GramBatch.from_word_hashes(hashes, doc_words), hashes


def _top32(h64: np.ndarray) -> np.ndarray:
    return (h64 >> np.uint64(32)).astype(np.uint32)


def field_signatures(seg_sig: np.ndarray, fw: FieldWords, spec: RowSpec) -> np.ndarray:
    """Each row's signature over its field's shingles: its segments' minimum, and the joined shingles'."""
    h, rows = joined_grams(fw, spec.shingle_size)
    sig = signatures_from_hashes(_top32(h), rows, fw.batch.docs, spec.num_perm, spec.seed)
    counts = np.diff(fw.ptr)
    if not len(fw.ids):
        return sig
    if counts.min() == 1 and counts.max() == 1:
        np.minimum(sig, seg_sig[fw.ids], out=sig)
        return sig
    has = np.flatnonzero(counts > 0)
    sig[has] = np.minimum(sig[has], np.minimum.reduceat(seg_sig[fw.ids], fw.ptr[has], axis=0))
    return sig


def gram_filters(probes: Mapping[str, tuple[GramProbe, ...]]) -> dict[int, GramFilter]:
    """One filter per gram length over every probe of that length, whichever field it is for."""
    lengths = sorted({n for ps in probes.values() for p in ps for n in p.lengths})
    return {n: GramFilter.of([p for ps in probes.values() for p in ps if n in p.lengths]) for n in lengths}


class _SegmentGrams:
    """Each probed gram length's segment grams that pass the filter, computed once for all fields:
    a field's grams are its segments' own plus those across two of its segments."""

    def __init__(self, lay: Layout, words: GramBatch, spec: RowSpec) -> None:
        self.words, self.spec = words, spec
        self.seg_row = np.repeat(np.arange(lay.rows, dtype=np.int64), np.diff(lay.parts["record"][1]))
        self.member = {}
        for name in FIELDS:
            mask = np.zeros(words.docs, dtype=bool)
            mask[lay.parts[name][0]] = True
            self.member[name] = mask
        self.cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _of_length(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if n not in self.cache:
            h, seg = self.words.grams(n)
            keep = self.spec.filters[n].maybe(h) if n in self.spec.filters else np.arange(len(h))
            self.cache[n] = (h[keep], seg[keep])
        return self.cache[n]

    def probe(self, probe: GramProbe, name: str, fw: FieldWords, offset: int) -> Hits:
        hashes, rows = [], []
        for n in probe.lengths:
            h, seg = self._of_length(n)
            mine = self.member[name][seg]
            hashes += [h[mine]]
            rows += [self.seg_row[seg[mine]]]
            h_across, r_across = across_grams(fw, n)
            hashes += [h_across]
            rows += [r_across]
        return probe_rows(probe, np.concatenate(hashes), np.concatenate(rows) + offset)


def _collide(cross: CrossProbe, bands: np.ndarray, words: np.ndarray, sig: np.ndarray,
             offset: int) -> Collisions:
    ok = np.flatnonzero(words >= cross.min_words)
    rows = np.tile(ok + offset, bands.shape[0])
    hits = probe_rows(cross.probe, bands[:, ok].ravel(), rows)
    hit_rows = distinct(hits.rows)
    return Collisions(hits, hit_rows, sig[hit_rows - offset])


def scan_rows(records: Sequence[Record], spec: RowSpec, offset: int) -> RowScan:
    """Scan ``records``, whose first row is row ``offset`` of its split."""
    lay = layout(records)
    words, word_hash = _segment_batch(word_stream(lay.segments), len(lay.segments))
    tokens, token_hash = _segment_batch(exact_stream(lay.segments), len(lay.segments))
    h, seg = words.grams(spec.shingle_size)
    seg_sig = signatures_from_hashes(_top32(h), seg, words.docs, spec.num_perm, spec.seed)
    grams = _SegmentGrams(lay, words, spec)
    fields = {}
    for name in FIELDS:
        ids, ptr = lay.parts[name]
        fw = field_words(words, word_hash, ids, ptr)
        keys = field_words(tokens, token_hash, ids, ptr).batch.whole()
        counts = fw.batch.word_counts.astype(np.int64)
        sig = field_signatures(seg_sig, fw, spec)
        need_bands = name in spec.keep_bands or name in spec.cross
        bands = band_keys(sig, spec.bands, spec.band_rows) if need_bands else None
        hits = [grams.probe(probe, name, fw, offset) for probe in spec.probes.get(name, ())]
        collected = None
        if spec.collect_ngram:
            hashes, docs = fw.batch.grams(spec.collect_ngram)
            collected = (hashes, docs + offset)
        cross = _collide(spec.cross[name], bands, counts, sig, offset) \
            if name in spec.cross and bands is not None else None
        fields[name] = FieldScan(keys, counts, sig if name in spec.keep_sig else None, tuple(hits), collected,
                                 lay.rows, bands if name in spec.keep_bands else None, cross)
    texts = {"prompt": [r.prompt for r in records], "response": [r.response for r in records]}
    checks = run_on_chunk(spec.row_checks, spec.split, records, texts, fields, offset, spec.tokenizer)
    return RowScan(fields, checks, lay.rows)


class RowCollector:
    """Chunk results as they arrive, in any order, written straight into arrays of the split's size
    (so the parent never holds the chunks and their concatenation at once)."""

    def __init__(self, spec: RowSpec, rows: int) -> None:
        self.spec, self.rows = spec, rows
        self.arrays: dict[tuple[str, str], np.ndarray] = {}  # (field, name) -> rows
        self.rest: list[tuple[int, RowScan]] = []  # what varies in length: hits, grams, check hits

    def _put(self, key: tuple[str, str], lo: int, value: np.ndarray, axis: int = 0) -> None:
        out = self.arrays.get(key)
        if out is None:
            shape = list(value.shape)
            shape[axis] = self.rows
            out = self.arrays[key] = np.empty(shape, dtype=value.dtype)
        if axis:
            out[:, lo:lo + value.shape[1]] = value
        else:
            out[lo:lo + len(value)] = value

    def add(self, lo: int, part: RowScan) -> None:
        light = {}
        for name, f in part.fields.items():
            self._put((name, "keys"), lo, f.keys)
            self._put((name, "words"), lo, f.words)
            if f.sig is not None:
                self._put((name, "sig"), lo, f.sig)
            if f.bands is not None:
                self._put((name, "bands"), lo, f.bands, axis=1)
            light[name] = FieldScan(f.keys[:0], f.words[:0], None, f.hits, f.grams, f.rows, None, f.cross)
        self.rest.append((lo, RowScan(light, part.checks, part.rows)))

    def _array(self, key: tuple[str, str], empty: np.ndarray) -> np.ndarray:
        return self.arrays.get(key, empty)

    def result(self) -> RowScan:
        spec = self.spec
        parts = [part for _, part in sorted(self.rest, key=lambda p: p[0])]
        fields = {}
        for name in FIELDS:
            merged = _merge_field([p.fields[name] for p in parts], spec, name)
            fields[name] = FieldScan(
                self._array((name, "keys"), np.zeros(0, np.uint64)),
                self._array((name, "words"), np.zeros(0, np.int64)),
                self._array((name, "sig"), np.zeros((0, spec.num_perm), np.uint32))
                if name in spec.keep_sig else None,
                merged.hits, merged.grams, self.rows,
                self._array((name, "bands"), np.zeros((spec.bands, 0), np.uint64))
                if name in spec.keep_bands else None, merged.cross)
        return RowScan(fields, merge([p.checks for p in parts]), self.rows)


def _cat(arrays: list[np.ndarray], empty: np.ndarray, axis: int = 0) -> np.ndarray:
    return np.concatenate(arrays, axis=axis) if arrays else empty


def _merge_field(parts: list[FieldScan], spec: RowSpec, name: str) -> FieldScan:
    """Concatenate the variable-length results of a field (hits, grams, collisions)."""
    n_probes = len(spec.probes.get(name, ()))
    grams = None
    if spec.collect_ngram:
        grams = (_cat([p.grams[0] for p in parts if p.grams], np.zeros(0, np.uint64)),
                 _cat([p.grams[1] for p in parts if p.grams], np.zeros(0, np.int64)))
    cross = Collisions.concat([p.cross for p in parts if p.cross is not None], spec.num_perm) \
        if name in spec.cross else None
    empty = np.zeros(0, np.int64)
    hits = tuple(Hits.concat([p.hits[i] for p in parts]) for i in range(n_probes))
    return FieldScan(empty, empty, None, hits, grams, sum(p.rows for p in parts), None, cross)
