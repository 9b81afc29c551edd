"""What a per-row check reads (:class:`Rows`, one split) and returns (:class:`Hit`, :class:`CheckOutput`).

``Rows`` holds the split's records and its two text views, ``prompts`` (every
turn before the final assistant turn, system turns left out) and
``responses`` (the final assistant turn), plus word counts and exact keys
(from the audit's scan when there is one) and the tokenizer when the audit
has one. :meth:`Rows.matching` finds the rows a regex matches with one regex
pass per chunk of texts instead of one call per row.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.data.record import Record
from harness.results import Ref, Split

FIELDS = ("prompt", "response")
CHUNK_ROWS = 4096


@dataclass(frozen=True)
class Hit:
    """One flagged row: its position in :class:`Rows`, why, and on which field."""

    pos: int
    message: str
    field: str = "response"
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def at(self, pos: int) -> Hit:
        """The same hit at another position (``dataclasses.replace`` costs 5x this, and a million-row
        scan moves a quarter million row-phase hits)."""
        if type(self) is not Hit:  # a subclass may carry more
            return dataclasses.replace(self, pos=pos)
        return Hit(pos, self.message, self.field, self.details)


@dataclass(frozen=True)
class CheckOutput:
    """Hits (or findings) plus statistics that go into the check's reported ``params``."""

    hits: Sequence[Any]
    stats: Mapping[str, Any] = dataclasses.field(default_factory=dict)


class Rows:
    """One split as per-row checks see it; positions ``0 .. len-1``, refs use ``Record.index``."""

    def __init__(self, split: Split, records: Sequence[Record], *, prompts: Sequence[str] | None = None,
                 responses: Sequence[str] | None = None, scans: Mapping[str, Any] | None = None,
                 tokenizer: Any = None) -> None:
        self.split = split
        self.records = records
        self.prompts: Sequence[str] = prompts if prompts is not None else [r.prompt for r in records]
        self.responses: Sequence[str] = responses if responses is not None else [r.response for r in records]
        self.tokenizer = tokenizer
        self._scans = scans or {}
        self._cache: dict[str, np.ndarray] = {}
        self._phases: dict[Any, list[Any]] = {}  # a set check's row phase -> its hits

    def __len__(self) -> int:
        return len(self.records)

    def text(self, field: str) -> Sequence[str]:
        if field not in FIELDS:
            raise ValueError(f"unknown field {field!r}; expected one of {FIELDS}")
        return self.prompts if field == "prompt" else self.responses

    def index(self, pos: int) -> int:
        """The 0-based record number refs point at."""
        numbers = getattr(self.records, "indices", None)  # a RecordFile knows them without parsing
        if isinstance(numbers, np.ndarray):
            return int(numbers[int(pos)])
        return self.records[int(pos)].index

    def ref(self, pos: int) -> Ref:
        return Ref(split=self.split, index=self.index(pos))

    def words(self, field: str) -> np.ndarray:
        """Word counts (``\\w+`` tokens after NFKC + casefold), int64."""
        return self._scanned(field, "words")

    def keys(self, field: str) -> np.ndarray:
        """64-bit exact-duplicate keys (NFKC, casefold, whitespace collapsed; 0 for blank)."""
        return self._scanned(field, "keys")

    def _scanned(self, field: str, what: str) -> np.ndarray:
        scan = self._scans.get(field)
        if scan is not None and hasattr(scan, what):
            return np.asarray(getattr(scan, what))
        key = f"{field}.{what}"
        if key not in self._cache:
            self._cache[key] = _compute(self.text(field), what)
        return self._cache[key]

    def row_phase(self, fn: Any, params: Mapping[str, Any]) -> list[Any]:
        """The hits of a set check's row phase ``fn`` on these rows: the scan workers' when the
        audit ran it there (:meth:`put_row_phase`), else computed now."""
        if fn not in self._phases:
            out = fn(self, params)
            self._phases[fn] = list(out.hits if isinstance(out, CheckOutput) else out)
        return self._phases[fn]

    def put_row_phase(self, fn: Any, hits: Sequence[Any]) -> None:
        self._phases[fn] = list(hits)

    def matching(self, field: str, pattern: re.Pattern[str], sep: str = "\n", **fast: Any) -> np.ndarray:
        """Sorted positions whose ``field`` text holds a match of ``pattern`` (see :func:`matching_rows`)."""
        return matching_rows(self.text(field), pattern, sep, **fast)


def _joined(part: Sequence[str], sep: str, lower: bool) -> tuple[str, np.ndarray]:
    """The texts joined by ``sep`` (lower-cased with ``lower``) and where each one ends (exclusive)."""
    joined = sep.join(part)
    if lower:
        low = joined.lower()
        if len(low) == len(joined):  # lower-casing kept every length (always so for ASCII)
            return low, np.cumsum([len(t) + len(sep) for t in part]) - len(sep)
        part = [t.lower() for t in part]
        joined = sep.join(part)
    return joined, np.cumsum([len(t) + len(sep) for t in part]) - len(sep)


def matching_rows(texts: Sequence[str], pattern: re.Pattern[str], sep: str = "\n", *,
                  needs: tuple[str, ...] = (), non_ascii: bool = False, lower: bool = False) -> np.ndarray:
    """Sorted positions of the ``texts`` that hold a match of ``pattern``, one regex pass per chunk.

    Texts are joined by ``sep`` a chunk at a time, so ``pattern`` must not
    match across ``sep``. With ``lower`` the chunk is lower-cased first (a
    case-sensitive pattern with a literal start is much faster than
    ``re.I``). A chunk is skipped without running the regex when it holds
    none of ``needs`` (substrings every match contains), or, with
    ``non_ascii``, when it is all ASCII.
    """
    found: list[np.ndarray] = []
    for lo in range(0, len(texts), CHUNK_ROWS):
        joined, ends = _joined(texts[lo:lo + CHUNK_ROWS], sep, lower)
        if (non_ascii and joined.isascii()) or (needs and not any(n in joined for n in needs)):
            continue
        at = [m.start() for m in pattern.finditer(joined)]
        if at:
            found.append(lo + np.searchsorted(ends, np.array(at), side="left"))
    return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)


def containing(texts: Sequence[str], needles: Sequence[str], *, lower: bool = False) -> np.ndarray:
    """Sorted positions of the ``texts`` that hold one of ``needles`` (``lower``: after lower-casing).

    Substring search is C-speed; after a hit the search jumps to the next text,
    so a needle common inside one text costs one find per text. The usual
    pattern: find candidates with this, then run a regex on those rows only.
    """
    found: list[int] = []
    for lo in range(0, len(texts), CHUNK_ROWS):
        joined, ends = _joined(texts[lo:lo + CHUNK_ROWS], "\n", lower)
        bounds = ends.tolist()
        for needle in needles:
            at = joined.find(needle)
            while at != -1:
                row = bisect.bisect_left(bounds, at)
                found.append(lo + row)
                at = joined.find(needle, bounds[row] + 1)
    return np.unique(np.array(found, dtype=np.int64))


def _compute(texts: Sequence[str], what: str) -> np.ndarray:
    from harness.audit.hashing import GramBatch
    from harness.audit.normalize import exact_keys, word_stream

    parts = []
    for lo in range(0, len(texts), CHUNK_ROWS):
        part = texts[lo:lo + CHUNK_ROWS]
        if what == "keys":
            parts.append(exact_keys(part))
        else:
            parts.append(GramBatch.from_bytes(word_stream(part), len(part)).word_counts.astype(np.int64))
    if not parts:
        return np.zeros(0, dtype=np.uint64 if what == "keys" else np.int64)
    return np.concatenate(parts)
