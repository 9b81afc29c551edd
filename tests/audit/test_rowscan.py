"""The record scan (each turn hashed once) equals scanning each field's text; bucket collisions give
exactly the candidate pairs of LSH over both splits, bucket cap included."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.audit import lsh
from harness.audit.ngrams import GramIndex, probe_rows
from harness.audit.rowscan import RowSpec, gram_filters, scan_rows
from harness.audit.scan import ScanSpec, scan_chunk
from harness.audit.splits import FIELDS, field_texts
from harness.data.record import Record, Turn

ROLES = ["user", "assistant", "system", "text", "tool"]
WORDS = ["the", "cat", "sat", "on", "a", "mat", "Naïve", "CAFÉ", "x\x00y", "3.5", "—", "ﬁne", "", " ", "\n"]


def _records(turn_lists: list[list[tuple[str, str]]]) -> list[Record]:
    return [Record(turns=tuple(Turn(r, c) for r, c in turns), index=i, source="m", format="messages")
            for i, turns in enumerate(turn_lists)]


def _assert_scan_equals_field_scans(records: list[Record], offset: int) -> None:
    texts = field_texts(records)
    def index_of(some: list[str], n: int) -> GramIndex:
        grams = scan_chunk(some, ScanSpec(collect_ngram=n), 0).grams
        assert grams is not None
        return GramIndex.build(grams[0], grams[1], len(some), (n,), max_share=1, min_docs=len(some))

    index = {f: index_of(texts[f][: max(len(records) // 2, 1)], 4) for f in FIELDS}
    short = index_of(texts["record"][:5], 2)
    probes = {"record": (index["record"].probe, short.probe), "prompt": (index["prompt"].probe,),
              "response": (index["response"].probe,)}
    spec = RowSpec(collect_ngram=4, keep_bands=FIELDS, probes=probes, filters=gram_filters(probes))
    got = scan_rows(records, spec, offset)
    for f in FIELDS:
        want = scan_chunk(list(texts[f]), ScanSpec(collect_ngram=4, probes=probes[f]), offset)
        mine = got.fields[f]
        assert np.array_equal(mine.keys, want.keys) and np.array_equal(mine.words, want.words), f
        assert np.array_equal(mine.sig, want.sig), f
        assert mine.grams is not None and want.grams is not None
        assert np.array_equal(mine.grams[0], want.grams[0]) and np.array_equal(mine.grams[1], want.grams[1])
        for a, b in zip(mine.hits, want.hits, strict=True):
            assert np.array_equal(a.rows, b.rows) and np.array_equal(a.keys, b.keys), f
        assert want.sig is not None
        assert np.array_equal(mine.bands, lsh.band_keys(want.sig, spec.bands, spec.band_rows))


def test_record_scan_equals_field_scans_on_real_rows(alpaca_pairs: list[tuple[str, str]]) -> None:
    rows: list[list[tuple[str, str]]] = []
    for k, (p, r) in enumerate(alpaca_pairs[:60]):
        shape = k % 5
        if shape == 0:
            rows.append([("user", p), ("assistant", r)])
        elif shape == 1:
            rows.append([("system", r[:40]), ("user", p), ("assistant", r)])
        elif shape == 2:
            rows.append([("user", p), ("assistant", r), ("user", r[:30]), ("assistant", p)])
        elif shape == 3:
            rows.append([("text", p + " " + r)])
        else:
            rows.append([("user", p), ("system", "be brief"), ("user", r[:50])])
    rows += [[], [("user", "")], [("assistant", "one two")]]
    _assert_scan_equals_field_scans(_records(rows), offset=11)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.tuples(st.sampled_from(ROLES),
                                   st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join)),
                         max_size=5), min_size=1, max_size=12))
def test_record_scan_equals_field_scans_on_any_turns(rows: list[list[tuple[str, str]]]) -> None:
    _assert_scan_equals_field_scans(_records(rows), offset=0)


def _joint_pairs(small: np.ndarray, large: np.ndarray) -> np.ndarray:
    """What LSH over both splits together proposes across them (the reference)."""
    pairs = lsh.candidate_pairs_from_bands(np.concatenate([small, large], axis=1))
    n = small.shape[1]
    across = pairs[(pairs[:, 0] < n) & (pairs[:, 1] >= n)]
    return np.stack([across[:, 0], across[:, 1] - n], axis=1)


def test_cross_pairs_equal_joint_lsh_with_capped_buckets() -> None:
    rng = np.random.default_rng(0)
    # Few distinct band values, so buckets are big: some above BUCKET_CAP, some with many eval rows.
    small = rng.integers(0, 3, size=(4, 30)).astype(np.uint64)
    large = rng.integers(0, 3, size=(4, 400)).astype(np.uint64)
    small[1] = rng.integers(0, 40, 30)
    large[1] = rng.integers(0, 40, 400)  # band 1: buckets under the cap
    band = np.arange(4, dtype=np.uint64)[:, None] * np.uint64(100)  # keys of different bands differ
    small, large = small + band, large + band
    rows = np.arange(30)
    table = lsh.band_table(small, rows)
    hits = probe_rows(table.probe, large.ravel(), np.tile(np.arange(400), 4))
    got = lsh.cross_pairs(table, hits)
    want = _joint_pairs(small, large)
    assert np.array_equal(got, want)
    assert len(want) < 30 * 400  # the cap really cut pairs


def test_band_keys_fold_each_band_from_its_own_start() -> None:
    sig = np.random.default_rng(1).integers(0, 2**32, (50, 128), dtype=np.uint64).astype(np.uint32)
    keys = lsh.band_keys(sig, 16, 8)
    same = np.repeat(sig[:, :8], 16, axis=1)  # every band the same values: keys must still differ
    folded = lsh.band_keys(same, 16, 8)
    assert keys.shape == (16, 50) and len(np.unique(folded[:, 0])) == 16


def test_gram_index_equals_the_lexsort_reference() -> None:
    rng = np.random.default_rng(2)
    hashes = (rng.integers(0, 300, 5000).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    docs = rng.integers(0, 200, 5000)
    got = GramIndex.build(hashes, docs, 200, (13,), max_share=0.05, min_docs=3)
    order = np.lexsort((docs, hashes))  # the reference: sort, distinct pairs, drop keys in too many docs
    pairs = sorted(set(zip(hashes[order].tolist(), docs[order].tolist(), strict=True)))
    by_key: dict[int, list[int]] = {}
    for h, d in pairs:
        by_key.setdefault(h, []).append(d)
    kept = {h: ds for h, ds in by_key.items() if len(ds) <= 10}
    assert got.keys.tolist() == sorted(kept) and got.dropped == len(by_key) - len(kept) > 0
    assert got.post_docs.tolist() == [d for h in sorted(kept) for d in kept[h]]
    assert got.post_ptr.tolist() == np.cumsum([0] + [len(kept[h]) for h in sorted(kept)]).tolist()
