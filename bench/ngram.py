"""13-gram leakage scan of 100k train rows against 5k eval rows: ours vs pure-Python sets.

``python bench/run.py ngram --json [--train N] [--eval N] [--planted N] [--workers W]``

Rows are made from real instruction text (``bench/_planted_data.py``: pool
rows perturbed at 20% of words); ``--planted`` train rows additionally get a
25-word span of an eval response pasted in, so there are hits to find. Both
sides tokenize the same way (NFKC, casefold, word tokens: GPT-3 appendix C)
and report every (eval row, train row) pair sharing at least one 13-gram, with
no boilerplate filtering (that is the audit's, on top of this scan):

* ours: the eval 13-grams hashed into one sorted uint64 index, the train
  rows hashed chunk by chunk and probed (bitmap, then ``searchsorted``) over
  ``--workers`` processes, hits expanded through the index's postings;
* anchor: a dict from 13-gram tuple to eval rows, and per train row the
  intersection of its 13-gram set with the dict's keys.

``identical``: the two pair sets are equal. ``*_cpu_s`` is CPU time (workers
included): on a shared machine the wall-clock ratio moves with other load
(``load_avg_1m``), the CPU ratio much less.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from typing import Any

import numpy as np

from bench._planted_data import cpu_seconds, real_pool, synthetic_rows
from harness.audit.executors import FieldJob, run_scans
from harness.audit.ngrams import GramIndex
from harness.audit.normalize import WORD_RE, exact_form
from harness.audit.scan import ScanSpec

N = 13


def make_rows(train: int, evals: int, planted: int, seed: int) -> tuple[list[str], list[str]]:
    pool = real_pool()
    cut = len(pool) // 10
    ev = [r["instruction"] + "\n" + r["output"] for r in synthetic_rows(pool[:cut], evals, seed)]
    tr = [r["instruction"] + "\n" + r["output"] for r in synthetic_rows(pool[cut:], train, seed + 1)]
    rng = random.Random(seed)
    for row in rng.sample(range(train), planted):
        words = ev[rng.randrange(evals)].split()
        if len(words) > 30:
            start = rng.randrange(len(words) - 25)
            tr[row] += "\n" + " ".join(words[start:start + 25])
    return tr, ev


def ours(train: list[str], evals: list[str], workers: int | None) -> set[tuple[int, int]]:
    spec = ScanSpec(signatures=False, keys=False, collect_ngram=N)
    ev = run_scans([FieldJob("eval", evals, spec)], workers=workers)
    grams = ev["eval"].grams
    assert grams is not None
    index = GramIndex.build(grams[0], grams[1], len(evals), (N,), max_share=1.0, min_docs=len(evals))
    spec = ScanSpec(signatures=False, keys=False, probes=(index.probe,))
    hits = run_scans([FieldJob("train", train, spec)], workers=workers)["train"].hits[0]
    which, docs = index.docs_of(hits.keys)
    pairs = np.unique(docs * len(train) + hits.rows[which])
    return set(zip((pairs // len(train)).tolist(), (pairs % len(train)).tolist(), strict=True))


def reference(train: list[str], evals: list[str]) -> set[tuple[int, int]]:
    def grams(text: str) -> set[tuple[str, ...]]:
        words = WORD_RE.findall(exact_form(text))
        return {tuple(words[i:i + N]) for i in range(len(words) - N + 1)}

    where: dict[tuple[str, ...], list[int]] = {}
    for e, text in enumerate(evals):
        for g in grams(text):
            where.setdefault(g, []).append(e)
    keys = where.keys()
    pairs = set()
    for t, text in enumerate(train):
        for g in grams(text) & keys:
            pairs.update((e, t) for e in where[g])
    return pairs


def run(argv: list[str]) -> dict[str, Any]:
    ap = argparse.ArgumentParser(prog="bench ngram")
    ap.add_argument("--train", type=int, default=100_000)
    ap.add_argument("--eval", type=int, default=5_000)
    ap.add_argument("--planted", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args(argv)
    train, evals = make_rows(args.train, args.eval, args.planted, args.seed)
    ours(train[:300], evals[:50], 1)  # warm-up: imports, power tables

    start, cpu = time.perf_counter(), cpu_seconds()
    got = ours(train, evals, args.workers)
    ours_s, ours_cpu = time.perf_counter() - start, cpu_seconds() - cpu
    start, cpu = time.perf_counter(), cpu_seconds()
    want = reference(train, evals)
    anchor_s, anchor_cpu = time.perf_counter() - start, cpu_seconds() - cpu
    return {"ours_s": round(ours_s, 3), "anchor_s": round(anchor_s, 3), "ratio": round(anchor_s / ours_s, 2),
            "identical": got == want, "ours_cpu_s": round(ours_cpu, 3), "anchor_cpu_s": round(anchor_cpu, 3),
            "cpu_ratio": round(anchor_cpu / ours_cpu, 2), "load_avg_1m": os.getloadavg()[0],
            "pairs": len(want), "pairs_ours": len(got),
            "train_rows_hit": len({t for _, t in want}), "train": len(train), "eval": len(evals),
            "planted": args.planted, "n": N, "train_chars": sum(map(len, train)),
            "workers": args.workers or "cpu_count"}
