"""Train/eval leakage: per eval row, the train rows it leaks into and how.

Three kinds of evidence, each on the prompt, the response and the whole record:

* ``exact``: equal after NFKC + casefold + whitespace normalization;
* ``near_duplicate``: MinHash LSH candidate confirmed by exact Jaccard >= threshold;
* ``ngram``: a shared word 13-gram (GPT-3 appendix C: lowercase word tokens,
  punctuation stripped), ignoring boilerplate grams found in many rows.

Running on the response alone is what finds an eval answer pasted into
another train row's response. Prompt/response matches need
``min_field_words`` words, so one-word labels ("Positive") are not leakage.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.audit.arrays import distinct, maybe_in
from harness.audit.evidence import capped, member, snippet
from harness.audit.lsh import Picked, confirm, cross_pairs
from harness.audit.ngrams import GramIndex, Hits, drop_frequent, gram_texts, informative_postings
from harness.audit.params import AuditParams
from harness.audit.splits import FIELDS, SplitData
from harness.results import Finding

CHECK = "leakage"
Match = dict[str, Any]


@dataclass(frozen=True)
class LeakResult:
    findings: list[Finding]
    stats: dict[str, Any]


def min_words(field: str, params: AuditParams) -> int:
    """Words a field needs to be compared (one-word labels are not leakage)."""
    return 1 if field == "record" else params.min_field_words


def _eligible(data: SplitData, field: str, params: AuditParams) -> np.ndarray:
    return data.scans[field].words >= min_words(field, params)


def exact_matches(train: SplitData, evals: SplitData, field: str,
                  params: AuditParams) -> list[tuple[int, int]]:
    """(eval pos, train pos) with equal normalized text."""
    tk = np.where(_eligible(train, field, params), train.scans[field].keys, 0)
    ek = np.where(_eligible(evals, field, params), evals.scans[field].keys, 0)
    wanted = distinct(ek[ek != 0])
    # Only train rows whose key some eval row has can match: find those first, sort only them.
    rows = maybe_in(wanted, tk)
    at = np.minimum(np.searchsorted(wanted, tk[rows]), max(len(wanted) - 1, 0))
    rows = rows[wanted[at] == tk[rows]] if len(wanted) else rows[:0]
    order = rows[np.argsort(tk[rows], kind="stable")]
    sorted_keys = tk[order]
    lo = np.searchsorted(sorted_keys, ek, "left")
    hi = np.searchsorted(sorted_keys, ek, "right")
    out = []
    for e in np.flatnonzero((hi > lo) & (ek != 0)):
        out += [(int(e), int(t)) for t in order[lo[e]:hi[e]]]
    return out


def near_matches(train: SplitData, evals: SplitData, table: GramIndex | None, field: str,
                 params: AuditParams) -> tuple[list[tuple[int, int, float]], int]:
    """(eval pos, train pos, Jaccard) confirmed near duplicates across the splits, and candidates.

    ``table`` holds the eligible eval rows' band keys; the scan found the train
    rows in its buckets (``train.scans[field].cross``) and kept their signatures.
    """
    cross, e_sig = train.scans[field].cross, evals.scans[field].sig
    if table is None or cross is None or e_sig is None:
        return [], 0
    pairs = cross_pairs(table, cross.hits)
    if not len(pairs):
        return [], 0
    e_ids, e_inv = np.unique(pairs[:, 0], return_inverse=True)
    t_ids, t_inv = np.unique(np.searchsorted(cross.rows, pairs[:, 1]), return_inverse=True)
    t_rows = cross.rows[t_ids]
    local = np.stack([e_inv, len(e_ids) + t_inv], axis=1)
    found = confirm(local, np.concatenate([e_sig[e_ids], cross.sig[t_ids]]),
                    Picked((evals.texts[field], e_ids), (train.texts[field], t_rows)),
                    params.near_duplicate_threshold, params.shingle_size)
    out = []
    for (a, b), j in zip(found.pairs.tolist(), found.jaccard.tolist(), strict=True):
        e, t = int(e_ids[a]), int(t_rows[b - len(e_ids)])
        if evals.scans[field].keys[e] != train.scans[field].keys[t]:  # equal ones are "exact"
            out.append((e, t, float(j)))
    return out, found.candidates


def ngram_matches(hits: Hits, index: GramIndex, grams: tuple[np.ndarray, np.ndarray], train_rows: int,
                  params: AuditParams) -> tuple[dict[tuple[int, int], list[int]], int]:
    """(eval pos, train pos) -> shared gram key positions, boilerplate left out; and grams dropped."""
    limit = params.boilerplate_rows(train_rows)
    useful = informative_postings(index, hits, grams, params.ngram, limit)
    kept, dropped = drop_frequent(hits, limit)
    which, docs = index.docs_of(kept.keys)
    stride = max(int(grams[1].max()) + 1, 1) if len(grams[1]) else 1
    ok = np.isin(kept.keys[which] * stride + docs, useful)
    shared: dict[tuple[int, int], list[int]] = defaultdict(list)
    for w, e in zip(which[ok].tolist(), docs[ok].tolist(), strict=True):
        shared[(e, int(kept.rows[w]))].append(int(kept.keys[w]))
    return shared, dropped


class _Evidence:
    """Matches per eval position, in the order they were found."""

    def __init__(self) -> None:
        self.by_eval: dict[int, list[Match]] = defaultdict(list)

    def add(self, e: int, match: Match) -> None:
        self.by_eval[e].append(match)


def _collect(train: SplitData, evals: SplitData, indexes: dict[str, GramIndex],
             hits: dict[str, Hits], tables: dict[str, GramIndex],
             params: AuditParams) -> tuple[_Evidence, dict[str, Any]]:
    ev = _Evidence()
    stats: dict[str, Any] = {}
    for field in FIELDS:
        for e, t in exact_matches(train, evals, field, params):
            ev.add(e, {"train": t, "how": "exact", "field": field})
        near, candidates = near_matches(train, evals, tables.get(field), field, params)
        for e, t, j in near:
            ev.add(e, {"train": t, "how": "near_duplicate", "field": field, "jaccard": round(j, 4)})
        grams = evals.scans[field].grams
        assert grams is not None
        shared, dropped = ngram_matches(hits[field], indexes[field], grams, train.size, params)
        keys = indexes[field].keys
        for (e, t), kpos in sorted(shared.items()):
            ev.add(e, {"train": t, "how": "ngram", "field": field, "shared_ngrams": len(kpos),
                       "_hashes": {int(keys[k]) for k in kpos}})
        stats[field] = {"lsh_candidates": candidates, "near_pairs": len(near), "ngram_pairs": len(shared),
                        "boilerplate_grams": indexes[field].dropped + dropped}
    return ev, stats


def _finding(e: int, matches: list[Match], train: SplitData, evals: SplitData,
             params: AuditParams) -> Finding:
    cap = params.max_members * 3
    for k, m in enumerate(matches):
        hashes = m.pop("_hashes", None)
        if hashes is not None and k < cap:  # only shown matches need their gram texts
            m["ngrams"] = gram_texts(evals.texts[m["field"]][e], hashes, (params.ngram,))
    train_pos = list(dict.fromkeys(m["train"] for m in matches))
    kinds = sorted({f"{m['how']} {m['field']}" for m in matches})
    shown = [{**m, "train": train.index(m["train"])} for m in matches]
    rows = [member("eval", evals.index(e), evals.texts["record"][e],
                   prompt=snippet(evals.texts["prompt"][e]), response=snippet(evals.texts["response"][e]))]
    rows += [member("train", train.index(t), train.texts["record"][t]) for t in train_pos]
    listed = ", ".join(str(train.index(t)) for t in train_pos[:5]) + (", ..." if len(train_pos) > 5 else "")
    return Finding(
        check=CHECK, severity="error",
        message=f"eval row {evals.index(e)} leaks into {len(train_pos)} train row(s) ({listed}): "
                f"{'; '.join(kinds)}",
        refs=[evals.ref(e), *(train.ref(t) for t in train_pos)],
        details={"eval_index": evals.index(e), "how": kinds,
                 **capped("members", rows, params.max_members + 1),
                 **capped("matches", shown, cap)})


def leakage(train: SplitData, evals: SplitData, indexes: dict[str, GramIndex], hits: dict[str, Hits],
            tables: dict[str, GramIndex], params: AuditParams) -> LeakResult:
    """One error finding per eval row that leaks into train (``tables``: eval band keys per field)."""
    ev, stats = _collect(train, evals, indexes, hits, tables, params)
    findings = [_finding(e, ev.by_eval[e], train, evals, params) for e in sorted(ev.by_eval)]
    return LeakResult(findings, {"leaking_eval_rows": len(findings), "fields": stats})
