"""Reusing an audit's scans to audit a subset of its train rows again, without scanning them again.

A clean's verification audits what it keeps (a subset of the train rows, the
eval split and the settings unchanged) until no finding of a dropped check is
left. Everything the scan computed for a row depends on that row and on the
eval and benchmark indexes alone, so the re-audit selects the kept rows'
keys, signatures, band keys, gram hits, LSH collisions and per-row check hits
from the first audit's scan, and only the checks run again (the set-level ones
on the kept rows, so a threshold that moves when rows go moves here too).
Per-row checks (``scope="row"``) report their hits but not statistics then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.audit.chunk_checks import ChunkResult
from harness.audit.ngrams import Hits
from harness.audit.rows import Hit
from harness.audit.scan import Collisions, FieldScan
from harness.audit.splits import SplitData, field_texts
from harness.data.record import Record
from harness.data.record_file import RecordFile
from harness.results import Finding


class Scanned:
    """A scanned split plus which probe each field's hits belong to."""

    def __init__(self, data: SplitData, probe_names: dict[str, list[str]]) -> None:
        self.data = data
        self.probe_names = probe_names

    def hits(self, field: str, name: str) -> Hits:
        return self.data.scans[field].hits[self.probe_names[field].index(name)]


def record_indices(records: Sequence[Record]) -> np.ndarray:
    if isinstance(records, RecordFile):
        return records.indices
    return np.fromiter((r.index for r in records), dtype=np.int64, count=len(records))


@dataclass(frozen=True)
class _State:
    key: tuple[Any, ...]
    train: np.ndarray  # record numbers of the scanned train rows
    eval: np.ndarray | None
    shared: tuple[Any, ...]  # benchmark indexes, eval scan, eval indexes, eval band tables
    scanned: Scanned


class AuditCache:
    """What one audit scanned, for audits of subsets of its train rows with the same eval and settings.

    Pass the same cache to every :func:`harness.audit.run_audit` call (the first
    fills it); the caller promises the rows are the same records (a clean's kept rows).
    """

    def __init__(self) -> None:
        self._state: _State | None = None

    @staticmethod
    def key(params: Any, benchmarks: Mapping[str, Any] | None, tokenizer: Any) -> tuple[Any, ...]:
        docs = tuple(sorted((name, id(v)) for name, v in (benchmarks or {}).items()))
        # Which checks run does not change what is scanned (the scan runs every per-row check).
        return params.model_copy(update={"only_checks": None}), docs, id(tokenizer)

    def store(self, key: tuple[Any, ...], train: Sequence[Record], eval: Sequence[Record] | None,
              shared: tuple[Any, ...], scanned: Scanned) -> None:
        self._state = _State(key, record_indices(train), record_indices(eval) if eval is not None else None,
                             shared, scanned)

    def reuse(self, key: tuple[Any, ...], train: Sequence[Record],
              eval: Sequence[Record] | None) -> tuple[tuple[Any, ...], Scanned] | None:
        """The shared indexes and the train scan cut to ``train``, or None when they do not apply."""
        s = self._state
        if s is None or s.key != key or (eval is None) != (s.eval is None):
            return None
        if eval is not None and s.eval is not None and not np.array_equal(record_indices(eval), s.eval):
            return None  # another eval split: other indexes, other hits
        positions = _positions(s.train, record_indices(train))
        if positions is None:
            return None
        return s.shared, _subset(s.scanned, train, positions)


def _positions(scanned: np.ndarray, wanted: np.ndarray) -> np.ndarray | None:
    """Where each wanted record number is among the scanned ones (ascending), else None."""
    order = np.argsort(scanned, kind="stable")
    at = np.searchsorted(scanned[order], wanted)
    if np.any(at >= len(scanned)) or not np.array_equal(scanned[order][np.minimum(at, len(scanned) - 1)],
                                                        wanted):
        return None
    pos = order[at]
    return pos if np.all(np.diff(pos) > 0) else None


def _hits(h: Hits, pos: np.ndarray) -> Hits:
    keep = np.isin(h.rows, pos)
    return Hits(np.searchsorted(pos, h.rows[keep]), h.keys[keep])


def _field(f: FieldScan, pos: np.ndarray) -> FieldScan:
    cross = None
    if f.cross is not None:
        mine = np.isin(f.cross.rows, pos)
        cross = Collisions(_hits(f.cross.hits, pos), np.searchsorted(pos, f.cross.rows[mine]),
                           f.cross.sig[mine])
    return FieldScan(f.keys[pos], f.words[pos], f.sig[pos] if f.sig is not None else None,
                     tuple(_hits(h, pos) for h in f.hits), None, len(pos),
                     f.bands[:, pos] if f.bands is not None else None, cross)


def _checks(result: ChunkResult, pos: np.ndarray, split: str, kept: set[int]) -> ChunkResult:
    # One vectorized lookup of every hit's row among the kept ones (a dict of the kept rows per
    # check cost seconds at a million rows).
    at = np.array([int(h.pos) for h in result.hits if isinstance(h, Hit)], dtype=np.int64)
    found = np.searchsorted(pos, at)
    inside = (found < len(pos)) & (pos[np.minimum(found, len(pos) - 1)] == at) if len(pos) else \
        np.zeros(len(at), dtype=bool)
    hits: list[Hit | Finding] = []
    k = 0
    for hit in result.hits:
        if isinstance(hit, Hit):
            if inside[k]:
                hits.append(hit.at(int(found[k])))
            k += 1
        elif any(r.split != split or r.index in kept for r in hit.refs):
            hits.append(hit)
    return ChunkResult(hits, [])


def _subset(scanned: Scanned, train: Sequence[Record], pos: np.ndarray) -> Scanned:
    data = scanned.data
    kept = set(record_indices(train).tolist())
    sub = SplitData(data.split, train, field_texts(train), {f: _field(s, pos) for f, s in data.scans.items()},
                    {n: _checks(c, pos, data.split, kept) for n, c in data.checks.items()}, data.remote)
    return Scanned(sub, scanned.probe_names)
