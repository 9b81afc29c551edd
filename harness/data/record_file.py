"""A JSONL dataset as a sequence of records parsed on demand, from an index of where each line lies.

:meth:`RecordFile.open` (what :func:`harness.data.open_records` returns for a
``.jsonl``/``.ndjson`` file) indexes it in one pass over its bytes (no JSON
parsing): the byte span and line number of every record (blank lines skipped,
as :func:`harness.data.loaders.iter_records` skips them). ``RecordFile[i]``
parses one record, ``RecordFile[lo:hi]`` a run of them from one read, so a
large file is streamed through the audit in chunks (in worker processes) and
only a few rows it reports on are parsed again; memory per row is the index
(24 bytes), not the record. Records, indices, line numbers and errors are
exactly the loader's.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import overload

import numpy as np

from harness.data.formats import require_format
from harness.data.loaders import check_path, decode_line, detect, make_record, parse_json
from harness.data.record import Record
from harness.data.spans import newline_positions
from harness.errors import DataError

_SCAN = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # the C scanner json.loads runs
_JSON_SPACE = " \t\n\r"
CACHE_ROWS = 4096  # records kept parsed for repeated look-ups (a finding's members, its texts)
READ_AHEAD = 1024  # records parsed at once when look-ups walk forward through the file
WALK_RUN = 8  # look-ups of the next row in a row that make a walk (a finding's neighbours do not)
ITER_ROWS = 2048  # records parsed per read when iterating
_ASCII_SPACE = bytes(c for c in range(128) if chr(c).isspace())  # what str.strip() strips in ASCII
_MAYBE_BLANK = np.zeros(256, dtype=bool)  # first bytes of a line that may be blank: space, non-ASCII
_MAYBE_BLANK[list(_ASCII_SPACE)] = True
_MAYBE_BLANK[0x80:] = True


def _blank(raw: bytes, first: bool) -> bool:
    """What the loader skips: a line that is only whitespace (any Unicode whitespace, a BOM first)."""
    if not raw.strip(_ASCII_SPACE):
        return True
    if raw.isascii() and not first:
        return False
    text = raw.decode("utf-8", "replace")
    return not (text.removeprefix("\ufeff") if first else text).strip()


def _line_index(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Byte spans and 1-based numbers of the file's non-blank lines: newlines found by numpy, and
    only the lines that start with whitespace or a non-ASCII byte (maybe blank) looked at in Python."""
    if path.stat().st_size == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as raw:
        data = np.frombuffer(raw, dtype=np.uint8)
        newlines = newline_positions(data)
        starts = np.concatenate(([0], newlines + 1))
        ends = np.concatenate((newlines + 1, [len(data)]))
        numbers = np.arange(1, len(starts) + 1, dtype=np.int64)
        real = ends > starts  # no line after a final newline
        starts, ends, numbers = starts[real], ends[real], numbers[real]
        keep = np.ones(len(starts), dtype=bool)
        first = data[starts]
        for i in np.flatnonzero(_MAYBE_BLANK[first]).tolist():
            keep[i] = not _blank(bytes(raw[starts[i]:ends[i]]), numbers[i] == 1)
        del data  # the map closes only when no array views it
    return starts[keep], ends[keep], numbers[keep]


def checked_path(path: str | Path, fmt: str, kind: str, name: str) -> Path:
    """``path`` when it is a file of ``kind`` and ``fmt`` is a known format (else a DataError)."""
    p, found = check_path(path)
    if found != kind:
        raise DataError(f"not a {name} file", path=p)
    if fmt != "auto":
        require_format(fmt, str(p))
    return p


class RecordFile(Sequence[Record]):
    """The records of one JSONL file, by index; ``starts``/``ends`` are each record's line's bytes."""

    def __init__(self, path: Path, fmt: str, starts: np.ndarray, ends: np.ndarray, lines: np.ndarray,
                 indices: np.ndarray | None = None) -> None:
        self.path = path
        self.format = fmt
        self.starts, self.ends, self.lines = starts, ends, lines
        # Each record's number in the file (its position, unless this is a subset of the file's records).
        self.indices = np.arange(len(starts), dtype=np.int64) if indices is None else indices
        self._cache: dict[int, Record] = {}
        self._last_miss = -(2 * READ_AHEAD)  # the last row parsed on a miss
        self._run = 0  # misses of the next row in a row

    @classmethod
    def open(cls, path: str | Path, fmt: str = "auto") -> RecordFile:
        p = checked_path(path, fmt, "jsonl", "JSONL")
        starts, ends, lines = _line_index(p)
        if not len(starts):
            raise DataError("no records (empty file)", path=p)
        out = cls(p, fmt, starts, ends, lines)
        if fmt == "auto":  # the first record decides, as in the loader
            out.format = detect(out._row(int(out.lines[0]), out.read(0, 1)[0]), p, int(out.lines[0]))
        return out

    def __len__(self) -> int:
        return len(self.starts)

    def read(self, lo: int, hi: int) -> list[bytes]:
        """The raw lines of records ``lo .. hi - 1``."""
        if hi <= lo:
            return []
        base = int(self.starts[lo])
        with open(self.path, "rb") as fh:
            fh.seek(base)
            blob = fh.read(int(self.ends[hi - 1]) - base)
        spans = zip(self.starts[lo:hi].tolist(), self.ends[lo:hi].tolist(), strict=True)
        return [blob[a - base:b - base] for a, b in spans]

    def _row(self, line: int, raw: bytes) -> object:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = decode_line(raw, self.path, line)  # raises the loader's error
        if line == 1:
            text = text.removeprefix("\ufeff")
        text = text.rstrip("\r\n")
        try:  # json's C scanner on the value alone: what json.loads does, less its Python wrapping
            row, end = _SCAN(text, 0)
            if end == len(text) or not text[end:].strip(_JSON_SPACE):
                return row
        except (ValueError, StopIteration, RecursionError):
            pass
        return parse_json(text, self.path, line)  # leading space, extra data, or an error to report

    def parse(self, lo: int, hi: int) -> list[Record]:
        """Records ``lo .. hi - 1``, parsed from one read."""
        lines, indices = self.lines[lo:hi].tolist(), self.indices[lo:hi].tolist()
        return [make_record(self._row(line, raw), self.format, self.path, i, line)
                for i, line, raw in zip(indices, lines, self.read(lo, hi), strict=True)]

    @overload
    def __getitem__(self, i: int) -> Record: ...

    @overload
    def __getitem__(self, i: slice) -> list[Record]: ...

    def __getitem__(self, i: int | slice) -> Record | list[Record]:
        if isinstance(i, slice):
            lo, hi, step = i.indices(len(self))
            return self.parse(lo, hi) if step == 1 else [self[j] for j in range(lo, hi, step)]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        found = self._cache.get(i)
        if found is None:
            # Walking forward row after row (a check reading every row): parse ahead in one read. Rows
            # looked up here and there (a finding's few, two neighbours among them) are parsed alone,
            # not with a thousand after them: findings at 100k rows parsed 18x the rows they showed.
            self._run = self._run + 1 if i - self._last_miss == 1 else 0
            ahead = READ_AHEAD if self._run >= WALK_RUN else 1
            if len(self._cache) + ahead > CACHE_ROWS:
                self._cache.clear()
            got = self.parse(i, min(i + ahead, len(self)))
            for k, record in enumerate(got):
                self._cache[i + k] = record
            self._last_miss = i + len(got) - 1
            found = self._cache[i]
        return found

    def __iter__(self) -> Iterator[Record]:
        for lo in range(0, len(self), ITER_ROWS):
            yield from self.parse(lo, min(lo + ITER_ROWS, len(self)))

    def subset(self, positions: np.ndarray) -> RecordFile:
        """The records at ``positions`` (ascending), keeping their numbers in the file; nothing is parsed."""
        at = np.asarray(positions, dtype=np.int64)
        return RecordFile(self.path, self.format, self.starts[at], self.ends[at], self.lines[at],
                          self.indices[at])

    def span(self, i: int) -> tuple[int, int]:
        """Byte offsets of record ``i``'s line in the file (its line end included)."""
        return int(self.starts[i]), int(self.ends[i])

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "_cache": {}, "_last_miss": -(2 * READ_AHEAD), "_run": 0}
