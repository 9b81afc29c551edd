"""Exact duplicates within one split, after NFKC + casefold + whitespace normalization."""

from __future__ import annotations

import itertools

import numpy as np

from harness.audit.evidence import capped, member
from harness.audit.params import AuditParams
from harness.audit.splits import SplitData
from harness.audit.unionfind import UnionFind
from harness.results import Finding

CHECK = "exact_duplicates"
NORMALIZATION = "NFKC, casefold, whitespace collapsed"


def key_groups(keys: np.ndarray) -> list[np.ndarray]:
    """Positions sharing a non-zero key, one array per group of two or more (sorted)."""
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    edges = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1], [True])))
    groups = [order[a:b] for a, b in itertools.pairwise(edges) if b - a >= 2 and k[a] != 0]
    return sorted(groups, key=lambda g: int(g[0]))


def clusters(keys: np.ndarray) -> list[list[int]]:
    """Duplicate clusters: rows joined when their normalized texts are equal (union-find)."""
    uf = UnionFind()
    for group in key_groups(keys):
        uf.union_pairs((int(group[0]), int(other)) for other in group[1:])
    return uf.groups()


def exact_duplicates(data: SplitData, params: AuditParams) -> list[Finding]:
    texts = data.texts["record"]
    findings = []
    for cluster in clusters(data.scans["record"].keys):
        members = [member(data.split, data.index(p), texts[p]) for p in cluster]
        findings.append(Finding(
            check=CHECK, severity="warning",
            message=f"{len(cluster)} {data.split} rows are identical after normalization "
                    f"(rows {', '.join(str(m['index']) for m in members[:5])}"
                    f"{', ...' if len(members) > 5 else ''})",
            refs=[data.ref(p) for p in cluster],
            details={"split": data.split, "size": len(cluster), "normalization": NORMALIZATION,
                     **capped("members", members, params.max_members)}))
    return findings
