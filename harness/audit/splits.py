"""One split's rows as the checks see them: the three text fields, their scans and the row features.

Every text is a view, made from its record when a check asks for it (a
finding's members, a pair to confirm, a set check's few rows): the scan
workers read every row, and a :class:`~harness.data.record_file.RecordFile`
is parsed again only for the rows the findings name, so the parent process
never holds a split's texts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Protocol, overload

import numpy as np

from harness.audit.chunk_checks import ChunkResult
from harness.audit.layout import FIELDS
from harness.audit.scan import FieldScan
from harness.data.record import Record
from harness.data.record_file import RecordFile
from harness.results import Ref, Split

if TYPE_CHECKING:
    from harness.audit.lsh import Confirmed

__all__ = ["FIELDS", "FieldTexts", "RemoteLSH", "SplitData", "field_texts"]


class RemoteLSH(Protocol):
    """A split's record signatures and band keys kept elsewhere (a Ray cluster: ``ray_lsh.RemoteSplit``),
    with the near-duplicate search that runs where they are."""

    def positions(self, indices: np.ndarray) -> np.ndarray:
        """The scanned rows holding these record numbers."""

    def confirmed_pairs(self, rows: np.ndarray, threshold: float, shingle: int) -> Confirmed:
        """Near-duplicate pairs among scanned ``rows``, confirmed by exact Jaccard (scanned rows)."""


def _text(r: Record, name: str) -> str:
    return r.text if name == "record" else r.prompt if name == "prompt" else r.response


class FieldTexts(Sequence[str]):
    """One field (record, prompt or response) of every row, computed when asked for."""

    def __init__(self, records: Sequence[Record], name: str) -> None:
        if name not in FIELDS:
            raise ValueError(f"unknown field {name!r}")
        self.records, self.name = records, name

    def __len__(self) -> int:
        return len(self.records)

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [_text(r, self.name) for r in self.records[i]]
        return _text(self.records[int(i)], self.name)


def field_texts(records: Sequence[Record]) -> dict[str, FieldTexts]:
    """prompt (turns before the final assistant turn, no system), response (the target), record (all)."""
    return {name: FieldTexts(records, name) for name in FIELDS}


@dataclass(frozen=True)
class SplitData:
    """``records[pos]`` with ``texts[field][pos]`` and ``scans[field]`` rows at ``pos``."""

    split: Split
    records: Sequence[Record]
    texts: Mapping[str, Sequence[str]]
    scans: dict[str, FieldScan]
    checks: dict[str, ChunkResult] = field(default_factory=dict)  # per-row checks the scan ran
    remote: RemoteLSH | None = None  # where the record signatures are when not in scans (Ray)

    @property
    def size(self) -> int:
        return len(self.records)

    @cached_property
    def indices(self) -> np.ndarray:
        """Each position's record number (a file's records are numbered by position)."""
        if isinstance(self.records, RecordFile):
            return self.records.indices
        return np.fromiter((r.index for r in self.records), dtype=np.int64, count=len(self.records))

    def index(self, pos: int) -> int:
        """The 0-based record number refs point at."""
        return int(self.indices[int(pos)])

    def ref(self, pos: int) -> Ref:
        return Ref(split=self.split, index=self.index(pos))
