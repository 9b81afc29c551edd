"""A held-out split that passes the audit's leakage check: near duplicates stay on one side.

The audit itself decides what belongs together: the train file is audited alone,
and the rows of each exact or near-duplicate cluster move as one. Whole clusters
are drawn (seeded) into the eval side until it is big enough; then the two sides
are audited against each other and every eval row the leakage check still flags
(a shared 13-gram, a near-duplicate response) goes back to train, until the
check finds nothing.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass

from harness.audit import AuditParams, run_audit
from harness.audit.unionfind import UnionFind
from harness.data.record import Record
from harness.errors import DataError

EVAL_SHARE = 0.1
MIN_EVAL, MAX_EVAL = 20, 500
MIN_ROWS = 60  # below this, holding out 20 rows leaves too little to train on
ROUNDS = 8


@dataclass(frozen=True)
class Split:
    """Positions (into the loaded records) of each side, and what it took to make them."""

    train: list[int]
    eval: list[int]
    seed: int
    clusters: int  # duplicate clusters kept on one side
    moved_back: int  # eval rows the leakage check sent back to train
    rounds: int


def eval_size(rows: int, source: str = "train") -> int:
    """10% of the rows, at least 20 and at most 500 (``source``: the file, for the error)."""
    if rows < MIN_ROWS:
        raise DataError(f"{rows} rows are too few to hold out an eval set (need {MIN_ROWS})", path=source,
                        hint="pass --eval FILE")
    return max(MIN_EVAL, min(MAX_EVAL, round(EVAL_SHARE * rows)))


def _renumbered(records: Sequence[Record], positions: Sequence[int]) -> list[Record]:
    return [dataclasses.replace(records[p], index=i) for i, p in enumerate(positions)]


def clusters(records: Sequence[Record], params: AuditParams) -> list[list[int]]:
    """Every row as a group, rows of one exact or near-duplicate cluster together."""
    audit = run_audit(records, None, params=params, progress=False)
    uf = UnionFind()
    for f in audit.findings:
        if f.check in ("exact_duplicates", "near_duplicates") and "left_out" not in f.details:
            uf.union_pairs((f.refs[0].index, r.index) for r in f.refs[1:] if r.split == "train")
    groups: dict[int, list[int]] = {}
    for pos in range(len(records)):
        groups.setdefault(uf.find(pos), []).append(pos)
    return list(groups.values())


def leaking(records: Sequence[Record], train: Sequence[int], evals: Sequence[int],
            params: AuditParams) -> set[int]:
    """Positions of the eval rows the leakage check flags against the train rows."""
    audit = run_audit(_renumbered(records, train), _renumbered(records, evals), params=params, progress=False)
    return {evals[int(f.details["eval_index"])] for f in audit.findings
            if f.check == "leakage" and "eval_index" in f.details}


def held_out_split(records: Sequence[Record], *, seed: int = 0, params: AuditParams | None = None) -> Split:
    """Draw an eval side of :func:`eval_size` rows whose rows leak into no train row."""
    params = params or AuditParams()
    source = records[0].source if records else "train"
    want = eval_size(len(records), source)
    groups = clusters(records, params)
    random.Random(seed).shuffle(groups)
    chosen: set[int] = set()
    for group in groups:
        if len(chosen) >= want:
            break
        if len(group) <= max(1, want // 4):  # a big cluster would fill the eval side with one item
            chosen.update(group)
    moved = 0
    for rounds in range(1, ROUNDS + 1):
        train = [p for p in range(len(records)) if p not in chosen]
        evals = sorted(chosen)
        bad = leaking(records, train, evals, params)
        if not bad:
            return Split(train, evals, seed, sum(len(g) > 1 for g in groups), moved, rounds)
        chosen -= bad
        moved += len(bad)
    raise DataError(f"could not hold out rows without leakage after {ROUNDS} rounds ({moved} rows moved "
                    "back)", path=source, hint="pass --eval FILE")


__all__ = ["Split", "eval_size", "held_out_split"]
