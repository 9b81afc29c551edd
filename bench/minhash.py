"""MinHash signing of 20k real documents: ours vs datasketch (a per-shingle loop, and MinHash.bulk).

``python bench/run.py minhash --json [--docs N] [--num-perm P] [--workers W]``

Documents: every instruction/response pair of ``realdata/instruct`` (joined),
then MMLU test questions with their choices, up to ``--docs`` (20,000).
Every side starts from raw text and tokenizes it the same way (NFKC,
casefold, word tokens, word 5-gram shingles):

* ours: :func:`harness.audit.executors.run_scans` (vectorized hashing and
  permutations, chunks over ``--workers`` processes);
* anchor (``anchor_s``): ``MinHash(num_perm=128)`` per document and
  ``update`` per shingle, datasketch's default SHA-1 shingle hash;
* ``anchor_bulk_s``: ``MinHash.bulk`` over the shingle lists.

``identical``: for every document, our signature equals datasketch's
``MinHash(num_perm, hashfunc=shingle_hash32)`` updated with the same shingles
(the datasketch-compatible mode: same permutations, same scheme, our shingle
hash as datasketch's hashfunc; the default SHA-1 cannot be vectorized).
``estimate_mae_vs_sha1``: mean absolute difference of pairwise Jaccard
estimates between our signatures and the SHA-1 ones on sampled pairs of
similar documents (both estimate the same Jaccard).
"""

from __future__ import annotations

import argparse
import os
import random
import time
from typing import Any

import numpy as np
from datasketch import MinHash

from bench._planted_data import cpu_seconds, real_pool, realdata_dir
from harness.audit import load_benchmark
from harness.audit.executors import FieldJob, run_scans
from harness.audit.minhash import shingle_hash32, shingles
from harness.audit.normalize import word_form
from harness.audit.scan import ScanSpec


def documents(n: int) -> tuple[list[str], int]:
    """``n`` texts (instruct pairs first, then MMLU questions) and how many are instruct pairs."""
    texts = [p + "\n" + r for p, r in real_pool()]
    instruct = len(texts)
    texts += [d.text for d in load_benchmark("mmlu", realdata_dir() / "mmlu" / "test")]
    return texts[:n], min(instruct, n)


def ours(texts: list[str], num_perm: int, workers: int | None) -> np.ndarray:
    spec = ScanSpec(num_perm=num_perm)
    sig = run_scans([FieldJob("docs", texts, spec)], workers=workers)["docs"].sig
    assert sig is not None
    return sig


def naive(texts: list[str], num_perm: int) -> list[np.ndarray]:
    out = []
    for text in texts:
        m = MinHash(num_perm=num_perm)
        for s in shingles(word_form(text), 5):
            m.update(s)
        out.append(m.hashvalues)
    return out


def bulk(texts: list[str], num_perm: int) -> list[np.ndarray]:
    sets = [shingles(word_form(t), 5) for t in texts]
    return [m.hashvalues for m in MinHash.bulk(sets, num_perm=num_perm)]


def compatible(texts: list[str], num_perm: int) -> np.ndarray:
    rows = []
    for text in texts:
        m = MinHash(num_perm=num_perm, hashfunc=shingle_hash32)
        m.update_batch(shingles(word_form(text), 5))
        rows.append(m.hashvalues)
    return np.array(rows, dtype=np.uint32)


def _estimate_gap(a: np.ndarray, b: np.ndarray, seed: int = 0) -> tuple[float, int]:
    """Mean |estimate_ours - estimate_sha1| over pairs that share some shingles (plus random ones)."""
    rng = random.Random(seed)
    n = len(a)
    pairs = {(i, j) for i, j in ((rng.randrange(n), rng.randrange(n)) for _ in range(2000)) if i != j}
    # Pairs of similar documents: same MMLU subject / neighbouring pool rows share more shingles.
    pairs |= {(i, i + 1) for i in range(0, n - 1, 7)}
    gaps = [abs(float((a[i] == a[j]).mean()) - float((b[i] == b[j]).mean())) for i, j in pairs]
    return float(np.mean(gaps)), len(pairs)


def run(argv: list[str]) -> dict[str, Any]:
    ap = argparse.ArgumentParser(prog="bench minhash")
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--num-perm", type=int, default=128)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args(argv)
    texts, instruct = documents(args.docs)
    ours(texts[:200], args.num_perm, 1)  # warm-up: imports, power tables

    start, cpu = time.perf_counter(), cpu_seconds()
    sig = ours(texts, args.num_perm, args.workers)
    ours_s, ours_cpu = time.perf_counter() - start, cpu_seconds() - cpu
    start, cpu = time.perf_counter(), cpu_seconds()
    sha1 = naive(texts, args.num_perm)
    anchor_s, anchor_cpu = time.perf_counter() - start, cpu_seconds() - cpu
    start, cpu = time.perf_counter(), cpu_seconds()
    sha1_bulk = bulk(texts, args.num_perm)
    bulk_s, bulk_cpu = time.perf_counter() - start, cpu_seconds() - cpu

    reference = compatible(texts, args.num_perm)
    identical = bool(np.array_equal(sig, reference))
    same_anchors = all(np.array_equal(x, y) for x, y in zip(sha1, sha1_bulk, strict=True))
    gap, n_pairs = _estimate_gap(sig, np.array(sha1, dtype=np.uint32))
    n_shingles = sum(len(shingles(word_form(t), 5)) for t in texts)
    return {"ours_s": round(ours_s, 3), "anchor_s": round(anchor_s, 3), "ratio": round(anchor_s / ours_s, 2),
            "anchor_bulk_s": round(bulk_s, 3), "ratio_bulk": round(bulk_s / ours_s, 2),
            "identical": identical, "identical_docs_checked": len(texts),
            "ours_cpu_s": round(ours_cpu, 3), "anchor_cpu_s": round(anchor_cpu, 3),
            "anchor_bulk_cpu_s": round(bulk_cpu, 3), "cpu_ratio": round(anchor_cpu / ours_cpu, 2),
            "cpu_ratio_bulk": round(bulk_cpu / ours_cpu, 2), "load_avg_1m": os.getloadavg()[0],
            "anchors_agree": same_anchors, "estimate_mae_vs_sha1": round(gap, 4), "estimate_pairs": n_pairs,
            "docs": len(texts), "shingles": n_shingles, "num_perm": args.num_perm,
            "workers": args.workers or "cpu_count", "chars": sum(map(len, texts)),
            "instruct_docs": instruct, "mmlu_docs": len(texts) - instruct}
