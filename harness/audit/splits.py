"""One split's rows as the checks see them: the three text fields and their scans."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.audit.scan import FieldScan
from harness.data.record import Record
from harness.results import Ref, Split

FIELDS = ("record", "prompt", "response")


def field_texts(records: Sequence[Record]) -> dict[str, list[str]]:
    """prompt (turns before the final assistant turn, no system), response (the target), record (all)."""
    return {"record": [r.text for r in records], "prompt": [r.prompt for r in records],
            "response": [r.response for r in records]}


@dataclass(frozen=True)
class SplitData:
    """``records[pos]`` with ``texts[field][pos]`` and ``scans[field]`` rows at ``pos``."""

    split: Split
    records: Sequence[Record]
    texts: dict[str, list[str]]
    scans: dict[str, FieldScan]

    @property
    def size(self) -> int:
        return len(self.records)

    def index(self, pos: int) -> int:
        """The 0-based record number refs point at."""
        return self.records[int(pos)].index

    def ref(self, pos: int) -> Ref:
        return Ref(split=self.split, index=self.index(pos))
