"""Exact duplicates within one split, after NFKC + casefold + whitespace normalization."""

from __future__ import annotations

import numpy as np

from harness.audit.evidence import capped, member
from harness.audit.params import AuditParams
from harness.audit.splits import SplitData
from harness.results import Finding

CHECK = "exact_duplicates"
NORMALIZATION = "NFKC, casefold, whitespace collapsed"


def key_groups(keys: np.ndarray) -> list[np.ndarray]:
    """Positions sharing a non-zero key, one array per group of two or more (sorted)."""
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    edges = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1], [True])))
    starts, sizes = edges[:-1], np.diff(edges)
    big = np.flatnonzero((sizes >= 2) & (k[starts] != 0)) if len(k) else np.zeros(0, np.int64)
    # Stable sort: each group's positions are ascending, so its first is its smallest.
    groups = [order[a:a + n] for a, n in zip(starts[big].tolist(), sizes[big].tolist(), strict=True)]
    return sorted(groups, key=lambda g: int(g[0]))


def clusters(keys: np.ndarray) -> list[list[int]]:
    """Duplicate clusters: rows whose normalized texts are equal (equality is transitive: no union-find)."""
    return [g.tolist() for g in key_groups(keys)]


def exact_duplicates(data: SplitData, params: AuditParams) -> list[Finding]:
    texts = data.texts["record"]
    findings = []
    for cluster in clusters(data.scans["record"].keys):
        members = [member(data.split, data.index(p), texts[p]) for p in cluster[:params.max_members]]
        findings.append(Finding(
            check=CHECK, severity="warning",
            message=f"{len(cluster)} {data.split} rows are identical after normalization "
                    f"(rows {', '.join(str(data.index(p)) for p in cluster[:5])}"
                    f"{', ...' if len(cluster) > 5 else ''})",
            refs=[data.ref(p) for p in cluster],
            details={"split": data.split, "size": len(cluster), "normalization": NORMALIZATION,
                     **capped("members", members, params.max_members, len(cluster))}))
    return findings
