"""Near duplicates within one split: MinHash LSH candidates, exact Jaccard, union-find clusters.

Exact duplicates are collapsed to one representative first (the exact check
reports them), so a near-duplicate cluster always holds at least two different
texts; the cluster's refs then include every exact copy of its members. The
scan keeps every row's band keys and signature; texts are read only for the
candidate pairs whose MinHash estimate comes near the threshold. On Ray the
search runs in the cluster, where the signatures are (:mod:`harness.audit.ray_lsh`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.audit.duplicates import key_groups
from harness.audit.evidence import capped, member
from harness.audit.lsh import Confirmed, Picked, candidate_pairs_from_bands, confirm, lsh_params
from harness.audit.params import AuditParams
from harness.audit.splits import SplitData
from harness.audit.unionfind import UnionFind
from harness.results import Finding

CHECK = "near_duplicates"


@dataclass(frozen=True)
class NearResult:
    findings: list[Finding]
    stats: dict[str, Any]


def _representatives(data: SplitData) -> tuple[np.ndarray, dict[int, list[int]]]:
    """Positions with words, one per exact-duplicate group, and each one's exact copies."""
    scan = data.scans["record"]
    copies: dict[int, list[int]] = {}
    dropped = np.zeros(data.size, dtype=bool)
    for group in key_groups(scan.keys):
        copies[int(group[0])] = group.tolist()
        dropped[group[1:]] = True
    reps = np.flatnonzero(~dropped & (scan.words > 0))
    return reps, copies


def confirm_rows(pairs: np.ndarray, sig: np.ndarray, texts: Sequence[str], rows: np.ndarray,
                 params: AuditParams) -> Confirmed:
    """:func:`harness.audit.lsh.confirm` on pairs of ``rows`` positions, reading only the rows in pairs."""
    if not len(pairs):
        return confirm(pairs, sig[:0], [], params.near_duplicate_threshold, params.shingle_size)
    ids, inverse = np.unique(pairs, return_inverse=True)
    at = rows[ids]
    found = confirm(inverse.reshape(pairs.shape), sig[at], Picked((texts, at)),
                    params.near_duplicate_threshold, params.shingle_size)
    return Confirmed(ids[found.pairs] if len(found.pairs) else found.pairs, found.jaccard,
                     found.candidates, found.checked)


def lsh_settings(params: AuditParams) -> dict[str, Any]:
    bands, rows = lsh_params(params.near_duplicate_threshold, params.num_perm, params.lsh_weights)
    return {"threshold": params.near_duplicate_threshold, "shingle": f"word {params.shingle_size}-grams",
            "num_perm": params.num_perm, "seed": params.seed, "bands": bands, "rows": rows,
            "lsh_weights": list(params.lsh_weights), "confirmed_by": "exact Jaccard of shingle sets"}


def _cluster_finding(data: SplitData, cluster: list[int], edges: dict[tuple[int, int], float],
                     copies: dict[int, list[int]], params: AuditParams) -> Finding:
    texts = data.texts["record"]
    positions = sorted({c for rep in cluster for c in copies.get(rep, [rep])})
    inside = [(a, b, j) for (a, b), j in edges.items()]
    values = [j for _, _, j in inside]
    members = [member(data.split, data.index(p), texts[p]) for p in positions[:params.max_members]]
    pairs = [{"a": data.index(a), "b": data.index(b), "jaccard": round(j, 4)}
             for a, b, j in sorted(inside, key=lambda e: -e[2])]
    return Finding(
        check=CHECK, severity="warning",
        message=f"{len(positions)} {data.split} rows are near duplicates "
                f"(Jaccard {min(values):.2f}-{max(values):.2f})",
        refs=[data.ref(p) for p in positions],
        details={"split": data.split, "size": len(positions), "jaccard": round(min(values), 4),
                 "jaccard_max": round(max(values), 4),
                 **capped("members", members, params.max_members, len(positions)),
                 **capped("pairs", pairs, params.max_members)})


def _remote_pairs(data: SplitData, reps: np.ndarray, params: AuditParams) -> Confirmed:
    """The search where the signatures are (a Ray cluster), mapped back to this split's positions."""
    assert data.remote is not None
    scanned = data.remote.positions(data.indices[reps])  # a re-audit's rows are a subset of the scan's
    found = data.remote.confirmed_pairs(scanned, params.near_duplicate_threshold, params.shingle_size)
    pairs = reps[np.searchsorted(scanned, found.pairs)] if len(found.pairs) else found.pairs
    return Confirmed(pairs, found.jaccard, found.candidates, found.checked)


def near_duplicates(data: SplitData, params: AuditParams) -> NearResult:
    scan = data.scans["record"]
    reps, copies = _representatives(data)
    if data.remote is not None:
        found = _remote_pairs(data, reps, params)
        pairs = found.pairs
    else:
        assert scan.sig is not None and scan.bands is not None
        local = candidate_pairs_from_bands(scan.bands[:, reps])
        found = confirm_rows(local, scan.sig, data.texts["record"], reps, params)
        pairs = reps[found.pairs] if len(found.pairs) else found.pairs
    uf = UnionFind()
    uf.union_pairs((int(a), int(b)) for a, b in pairs)
    groups = uf.groups()
    first = {m: g[0] for g in groups for m in g}
    edges: dict[int, dict[tuple[int, int], float]] = {}  # cluster's first member -> its edges
    for (a, b), j in zip(pairs.tolist(), found.jaccard.tolist(), strict=True):
        edges.setdefault(first[a], {})[(a, b)] = j
    findings = [_cluster_finding(data, g, edges[g[0]], copies, params) for g in groups]
    stats = {"candidates": found.candidates, "jaccard_computed": found.checked,
             "confirmed_pairs": len(pairs), "rows_compared": len(reps)}
    return NearResult(findings, stats)
