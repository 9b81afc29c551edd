"""Where each record of a dataset file sits, in bytes, so a cleaned copy can keep rows byte for byte.

:func:`row_spans` returns a :class:`RowSpans` whose record ``i`` is the loader's
record ``i`` (``harness.data.loaders``):

* JSONL: each non-blank line with its line end (blank lines are no records);
  a byte-order mark is the head.
* JSON array (or a ``{"data": [...]}`` wrapper): the bytes of each element
  between the array's commas, found by one vectorized scan: unescaped quotes
  (an odd run of backslashes escapes), brackets and commas outside strings,
  and their nesting depth. A single object is one record.
* CSV: each row's lines as Python's ``csv`` module reads them (a quoted field
  may hold line breaks); the header line is the head.
* Parquet: row numbers only (rows are rewritten through pyarrow, not copied).

``lines`` is the 1-based line where each record starts. A file whose rows
cannot be lined up with the loader's records raises :class:`DataError`.
"""

from __future__ import annotations

import codecs
import csv
import io
import mmap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from harness.errors import DataError

Kind = Literal["jsonl", "json", "csv", "parquet"]
KINDS: dict[str, Kind] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv",
                          ".parquet": "parquet"}
_WS = np.zeros(256, dtype=bool)
_WS[[0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C]] = True


@dataclass(frozen=True)
class RowSpans:
    """Byte spans of a file's records; ``data`` is the file's bytes (a read-only map)."""

    kind: Kind
    path: Path
    data: bytes | mmap.mmap
    starts: np.ndarray  # int64, per record
    ends: np.ndarray  # int64, exclusive
    lines: np.ndarray  # int64, 1-based line of each record's start
    head: bytes = b""  # before the first record
    tail: bytes = b""  # after the last record
    empty: bytes = b""  # the file with no record left (JSON: "[]" in its place)

    def __len__(self) -> int:
        return len(self.starts)


def row_spans(path: str | Path, records: int) -> RowSpans:
    """The spans of the ``records`` records the loader read from ``path``."""
    p = Path(path)
    kind = KINDS.get(p.suffix.lower())
    if kind is None:
        raise DataError(f"cannot write a cleaned copy of a {p.suffix!r} file", path=p)
    if kind == "parquet":
        n = np.arange(records, dtype=np.int64)
        return RowSpans(kind, p, b"", n, n + 1, n + 1)
    data = _map(p)
    spans = _json(p, data, records) if kind == "json" else {"jsonl": _jsonl, "csv": _csv}[kind](p, data)
    if len(spans) != records:
        raise DataError(f"found {len(spans)} rows in the file but the loader read {records} records; "
                        "cannot line the cleaned copy up with them", path=p)
    return spans


def jsonl_spans(path: str | Path, starts: np.ndarray, ends: np.ndarray, lines: np.ndarray) -> RowSpans:
    """The spans of a JSONL file whose records' lines are known already (a
    :class:`harness.data.record_file.RecordFile`'s index): no second pass over the file."""
    p = Path(path)
    raw = _map(p)
    starts = np.array(starts, dtype=np.int64)
    bom = 3 if raw[:3] == codecs.BOM_UTF8 else 0
    if bom and len(starts) and starts[0] == 0:  # the byte-order mark is the head, not the first record's
        starts[0] = bom
    return RowSpans("jsonl", p, raw, starts, np.asarray(ends, np.int64), np.asarray(lines, np.int64),
                    head=bytes(raw[:bom]))


def _map(path: Path) -> bytes | mmap.mmap:
    with open(path, "rb") as fh:
        if path.stat().st_size == 0:
            return b""
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)


BLOCK = 1 << 26  # bytes per vectorized pass: bounded temporaries on files of any size


def _where(data: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Sorted positions of the bytes ``table`` marks, a block at a time."""
    parts = [np.flatnonzero(table[data[lo:lo + BLOCK]]) + lo for lo in range(0, len(data), BLOCK)]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


def _table(values: bytes) -> np.ndarray:
    out = np.zeros(256, dtype=bool)
    out[list(values)] = True
    return out


def newline_positions(data: np.ndarray) -> np.ndarray:
    """Sorted byte offsets of the line feeds in ``data`` (a file's bytes as uint8), a block at a time
    (one comparison per byte: faster than the table look-up :func:`_where` needs for byte sets)."""
    parts = [np.flatnonzero(data[lo:lo + BLOCK] == 0x0A) + lo for lo in range(0, len(data), BLOCK)]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


def _line_numbers(data: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.searchsorted(newline_positions(data), starts, side="left").astype(np.int64) + 1


def _jsonl(path: Path, raw: bytes | mmap.mmap) -> RowSpans:
    data = np.frombuffer(raw, dtype=np.uint8)
    bom = 3 if raw[:3] == codecs.BOM_UTF8 else 0
    newlines = newline_positions(data)
    starts = np.concatenate(([bom], newlines + 1)).astype(np.int64)
    ends = np.concatenate((newlines + 1, [len(data)])).astype(np.int64)
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    # A record line starts with "{" (or other JSON); only lines starting with whitespace may be blank.
    nonblank = ~_WS[data[starts]]
    for i in np.flatnonzero(~nonblank).tolist():
        nonblank[i] = bool(bytes(raw[starts[i]:ends[i]]).decode("utf-8", "replace").strip())
    starts, ends = starts[nonblank], ends[nonblank]
    lines = np.searchsorted(newlines, starts, side="left").astype(np.int64) + 1
    return RowSpans("jsonl", path, raw, starts, ends, lines, head=bytes(raw[:bom]))


def _structure(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of brackets and commas outside strings, and the nesting depth just after each."""
    quotes = _where(data, _table(b'"'))
    if len(quotes):  # a quote after an odd run of backslashes is escaped
        maybe = quotes[(quotes > 0) & (data[np.maximum(quotes - 1, 0)] == 0x5C)]
        escaped = set()
        for q in maybe.tolist():
            run = 0
            while q - 1 - run >= 0 and data[q - 1 - run] == 0x5C:
                run += 1
            if run % 2:
                escaped.add(q)
        if escaped:
            quotes = quotes[~np.isin(quotes, np.fromiter(escaped, dtype=np.int64))]
    structural = _where(data, _table(b"[]{},"))
    outside = np.searchsorted(quotes, structural) % 2 == 0
    structural = structural[outside]
    step = np.zeros(256, dtype=np.int64)
    step[list(b"[{")] = 1
    step[list(b"]}")] = -1
    depth = np.cumsum(step[data[structural]])
    return structural, depth


def _json(path: Path, raw: bytes | mmap.mmap, records: int) -> RowSpans:
    data = np.frombuffer(raw, dtype=np.uint8)
    pos, depth = _structure(data)
    if not len(pos) or data[pos[0]] not in b"[{":
        raise DataError("expected a JSON array or object", path=path)
    if data[pos[0]] == ord("["):
        return _array(path, raw, data, pos, depth, 0)
    opens = np.flatnonzero((data[pos] == ord("[")) & (depth == 2))
    if len(opens) == 1:  # {"data": [...]}: the loader takes the single list value (unless a record)
        inner = _array(path, raw, data, pos, depth, int(opens[0]))
        if len(inner) == records or records != 1:
            return inner
    close = int(pos[np.flatnonzero(depth == 0)[0]]) + 1
    s, e = np.array([pos[0]], np.int64), np.array([close], np.int64)
    return RowSpans("json", path, raw, s, e, _line_numbers(data, s), head=bytes(raw[:s[0]]),
                    tail=bytes(raw[close:]), empty=b"[]\n")


def _array(path: Path, raw: bytes | mmap.mmap, data: np.ndarray, pos: np.ndarray, depth: np.ndarray,
           at: int) -> RowSpans:
    """Elements of the array whose ``[`` is structural mark ``at``."""
    level = int(depth[at])
    closing = np.flatnonzero(depth[at + 1:] == level - 1)
    if not len(closing):
        raise DataError("JSON array is not closed", path=path)
    close = at + 1 + int(closing[0])
    inside = np.arange(at + 1, close)
    commas = pos[inside[(data[pos[inside]] == ord(",")) & (depth[inside] == level)]]
    open_at, close_at = int(pos[at]), int(pos[close])
    bounds_lo = np.concatenate(([open_at + 1], commas + 1))
    bounds_hi = np.concatenate((commas, [close_at]))
    starts, ends = _trim(data, bounds_lo, bounds_hi)
    if len(starts) == 1 and starts[0] == ends[0]:  # "[]": no element
        starts, ends = starts[:0], ends[:0]
    empty = bytes(raw[:open_at + 1]) + bytes(raw[close_at:])
    head = bytes(raw[:starts[0]]) if len(starts) else b""
    tail = bytes(raw[ends[-1]:]) if len(starts) else b""
    return RowSpans("json", path, raw, starts, ends, _line_numbers(data, starts), head=head, tail=tail,
                    empty=empty)


def _trim(data: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each ``[lo, hi)`` without leading and trailing whitespace (a few vector steps: indents are short)."""
    starts, ends = lo.astype(np.int64).copy(), hi.astype(np.int64).copy()
    while True:
        move = (starts < ends) & _WS[data[np.minimum(starts, len(data) - 1)]]
        if not move.any():
            break
        starts += move
    while True:
        move = (ends > starts) & _WS[data[np.maximum(ends - 1, 0)]]
        if not move.any():
            break
        ends -= move
    return starts, ends


def _csv(path: Path, raw: bytes | mmap.mmap) -> RowSpans:
    offsets: list[int] = [0]  # byte offset where each physical line starts
    consumed = [0]

    def lines() -> Iterator[str]:
        for line in io.BytesIO(bytes(raw)) if isinstance(raw, bytes) else _mm_lines(raw):
            offsets.append(offsets[-1] + len(line))
            consumed[0] += 1
            yield line.decode("utf-8", "replace")

    starts, ends, first_lines = [], [], []
    at = 0
    for number, row in enumerate(csv.reader(lines())):
        begin, end = offsets[at], offsets[consumed[0]]
        if number == 0:
            head_end = end
        elif row:  # csv gives [] for a blank line; the table reader skips those
            starts.append(begin)
            ends.append(end)
            first_lines.append(at + 1)
        at = consumed[0]
    if not consumed[0]:
        head_end = 0
    s, e = np.array(starts, np.int64), np.array(ends, np.int64)
    return RowSpans("csv", path, raw, s, e, np.array(first_lines, np.int64), head=bytes(raw[:head_end]),
                    empty=bytes(raw[:head_end]))


def _mm_lines(mm: mmap.mmap) -> Iterator[bytes]:
    mm.seek(0)
    while line := mm.readline():
        yield line
