"""Which rows a clean drops, for which checks, and the partner each dropped duplicate or leak has.

:func:`plan` reads an :class:`~harness.results.AuditResult` and a
:class:`~harness.audit.clean_policy.CleanPolicy`; it is pure (no files):

* a leak (``leakage``, ``semantic_leakage``) drops the train rows (or, with
  ``leak_side="eval"``, the eval row); the partner is the row on the other side;
* a contamination finding drops its row; the partner is the benchmark item it
  holds (the strongest match);
* duplicate clusters (``exact_duplicates``, ``near_duplicates``,
  ``semantic_duplicates``) are merged per split; one member is kept (``keep``:
  the first, the longest or the shortest record, among members no other
  dropped check removes) and the others are dropped with it as partner;
* any other dropped check drops every row its findings name.

Only the train split changes, unless the policy asks for the eval split too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.audit.clean_policy import CLUSTER_CHECKS, LEAK_CHECKS, CleanPolicy
from harness.audit.unionfind import UnionFind
from harness.data.record import Record
from harness.results import AuditResult, Finding, Split


@dataclass
class Removal:
    """Why one row goes: the checks, and the partner row or benchmark item (``None`` for per-row checks)."""

    split: Split
    index: int
    checks: list[str] = field(default_factory=list)
    partner: dict[str, Any] | None = None
    more_partners: int = 0

    def add(self, check: str, partner: dict[str, Any] | None = None) -> None:
        if check not in self.checks:
            self.checks.append(check)
        if partner is None:
            return
        if self.partner is None:
            self.partner = partner
        else:
            self.more_partners += 1


@dataclass
class Plan:
    """Rows to drop per split, by record index."""

    removals: dict[tuple[Split, int], Removal] = field(default_factory=dict)

    def mark(self, split: Split, index: int, check: str, partner: dict[str, Any] | None = None) -> None:
        self.removals.setdefault((split, index), Removal(split, index)).add(check, partner)

    def dropped(self, split: Split) -> set[int]:
        return {i for s, i in self.removals if s == split}

    def merge(self, other: Plan) -> None:
        for key, removal in other.removals.items():
            mine = self.removals.setdefault(key, Removal(removal.split, removal.index))
            for check in removal.checks:
                mine.add(check)
            if mine.partner is None and removal.partner is not None:
                mine.partner = removal.partner
            mine.more_partners += removal.more_partners


def _changes(split: Split, policy: CleanPolicy) -> bool:
    return split == "train" or (split == "eval" and policy.cleans_eval)


def _leak(plan: Plan, f: Finding, policy: CleanPolicy) -> None:
    if not f.refs or f.refs[0].split != "eval":
        return
    eval_index = f.refs[0].index
    train = [r.index for r in f.refs[1:] if r.split == "train"]
    matches = [m for m in f.details.get("matches", []) if isinstance(m, Mapping)]
    if policy.leak_side == "eval":
        if train:
            partner = {"split": "train", "index": train[0], "how": _how(matches, train[0])}
            plan.mark("eval", eval_index, f.check, partner)
        return
    for t in train:
        plan.mark("train", t, f.check, {"split": "eval", "index": eval_index, "how": _how(matches, t)})


def _how(matches: list[Mapping[str, Any]], train_index: int) -> list[str]:
    return sorted({f"{m.get('how')} {m.get('field')}" for m in matches if m.get("train") == train_index})


def _contamination(plan: Plan, f: Finding, policy: CleanPolicy) -> None:
    row = f.refs[0] if f.refs else None
    if row is None or row.split not in ("train", "eval") or not _changes(row.split, policy):
        return
    docs = [d for d in f.details.get("docs", []) if isinstance(d, Mapping)]
    partner = None
    if docs:
        partner = {"split": "benchmark", "benchmark": f.details.get("benchmark"),
                   "index": docs[0].get("index"), "id": docs[0].get("id"),
                   "how": list(docs[0].get("how", [])), "shared_ngrams": docs[0].get("shared_ngrams")}
    plan.mark(row.split, row.index, f.check, partner)


def _clusters(findings: Sequence[Finding], split: Split) -> tuple[list[list[int]], dict[int, list[str]]]:
    """Merged duplicate clusters of ``split`` (record indices, sorted) and which checks joined each row."""
    uf = UnionFind()
    checks: dict[int, list[str]] = {}
    for f in findings:
        members = sorted({r.index for r in f.refs if r.split == split})
        for m in members:
            uf.find(m)
            checks.setdefault(m, [])
            if f.check not in checks[m]:
                checks[m].append(f.check)
        uf.union_pairs((members[0], m) for m in members[1:])
    return [sorted(g) for g in uf.groups() if len(g) > 1], checks


def _keeper(members: list[int], eligible: set[int], lengths: Mapping[int, int], keep: str) -> int | None:
    candidates = [m for m in members if m in eligible]
    if not candidates:
        return None
    if keep == "longest":
        return min(candidates, key=lambda m: (-lengths.get(m, 0), m))
    if keep == "shortest":
        return min(candidates, key=lambda m: (lengths.get(m, 0), m))
    return candidates[0]


def plan(result: AuditResult, policy: CleanPolicy, lengths: Mapping[Split, Mapping[int, int]]) -> Plan:
    """The rows to drop (``lengths``: record index -> characters, per split, for ``keep``)."""
    dropped = set(policy.dropped())
    out = Plan()
    cluster_findings: dict[Split, list[Finding]] = {"train": [], "eval": []}
    for f in result.findings:
        if f.check not in dropped:
            continue
        if f.check in LEAK_CHECKS:
            _leak(out, f, policy)
        elif f.check == "contamination":
            _contamination(out, f, policy)
        elif f.check in CLUSTER_CHECKS:
            for split in ("train", "eval"):
                if any(r.split == split for r in f.refs) and _changes(split, policy):
                    cluster_findings[split].append(f)
        else:
            for r in f.refs:
                if r.split in ("train", "eval") and _changes(r.split, policy):
                    out.mark(r.split, r.index, f.check)
    for split, found in cluster_findings.items():
        groups, checks = _clusters(found, split)
        gone = out.dropped(split)
        for members in groups:
            keeper = _keeper(members, set(members) - gone, lengths.get(split, {}), policy.keep)
            for m in members:
                if m == keeper:
                    continue
                partner = None if keeper is None else {"split": split, "index": keeper}
                for check in checks[m]:
                    out.mark(split, m, check, partner)
    return out


def records_by_index(records: Sequence[Record] | None) -> dict[int, Record]:
    return {r.index: r for r in records or []}
