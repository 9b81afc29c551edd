"""A Parquet dataset as a sequence of records read on demand, a run of rows at a time (pyarrow).

:class:`ParquetRecords` is a :class:`harness.data.record_file.RecordFile` whose
rows come from the file's row groups instead of byte spans of lines: opening
it reads the file's footer only (row groups, rows, sizes), and
``records[lo:hi]`` reads the row groups holding those rows (kept, in Arrow's
compact form, for the next chunk of the same groups) and normalizes them, so
a worker (a Ray actor) reads its own chunk and the driver never loads the
table. ``starts``/``ends`` are each row's share of its row group's
uncompressed bytes (what chunking by size needs), not file offsets. Records,
their numbers, line numbers (the row number, 1-based) and errors are the
loader's (:func:`harness.data.loaders.load_records`, through ``datasets``):
a row is pyarrow's Python value less its top-level nulls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.data.loaders import detect, make_record
from harness.data.record import Record
from harness.data.record_file import RecordFile, checked_path
from harness.errors import DataError


def _footer(path: Path) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).metadata
    except Exception as exc:  # pyarrow raises several types; all mean "not a readable Parquet file"
        first = str(exc).strip().splitlines()
        why = first[0] if first else type(exc).__name__
        raise DataError(f"cannot read table: {why}", path=path) from None


class ParquetRecords(RecordFile):
    """The records of one Parquet file, by index (``indices``: row numbers in the file)."""

    def __init__(self, path: Path, fmt: str, starts: np.ndarray, ends: np.ndarray, lines: np.ndarray,
                 indices: np.ndarray | None = None, groups: np.ndarray | None = None) -> None:
        super().__init__(path, fmt, starts, ends, lines, indices)
        # The first row of each row group, then the file's row count.
        self.groups = groups if groups is not None else np.array([0, len(starts)], np.int64)
        self._read: tuple[int, int, Any] | None = None  # the row groups read last, for the next chunk

    @classmethod
    def open(cls, path: str | Path, fmt: str = "auto") -> ParquetRecords:
        p = checked_path(path, fmt, "parquet", "Parquet")
        meta = _footer(p)
        rows = np.array([meta.row_group(g).num_rows for g in range(meta.num_row_groups)], np.int64)
        if not rows.sum():
            raise DataError("no records (empty file)", path=p)
        size = np.array([meta.row_group(g).total_byte_size for g in range(meta.num_row_groups)], np.int64)
        per_row = np.repeat(np.maximum(size // np.maximum(rows, 1), 1), rows)
        ends = np.cumsum(per_row)
        lines = np.arange(1, int(rows.sum()) + 1, dtype=np.int64)
        out = cls(p, fmt, ends - per_row, ends, lines, groups=np.concatenate(([0], np.cumsum(rows))))
        if fmt == "auto":  # the first row decides, as in the loader
            out.format = detect(out._rows(0, 1)[0], p, 1)
        return out

    def _rows(self, first: int, last: int) -> list[dict[str, Any]]:
        """File rows ``first .. last - 1`` as the loader sees them (top-level nulls dropped)."""
        import pyarrow.parquet as pq

        lo = int(np.searchsorted(self.groups, first, side="right")) - 1
        hi = int(np.searchsorted(self.groups, last, side="left"))
        if self._read is None or self._read[:2] != (lo, hi):
            try:
                self._read = (lo, hi, pq.ParquetFile(self.path).read_row_groups(list(range(lo, hi))))
            except Exception as exc:  # a damaged row group
                raise DataError(f"cannot read table: {' '.join(str(exc).split())[:200]}", path=self.path,
                                line=first + 1) from None
        table = self._read[2].slice(first - int(self.groups[lo]), last - first)
        return [{k: v for k, v in row.items() if v is not None} for row in table.to_pylist()]

    def parse(self, lo: int, hi: int) -> list[Record]:
        """Records ``lo .. hi - 1`` (positions in this sequence), from one read of their row groups."""
        if hi <= lo:
            return []
        wanted = self.indices[lo:hi]
        first = int(wanted[0])
        rows = self._rows(first, int(wanted[-1]) + 1)
        return [make_record(rows[i - first], self.format, self.path, i, i + 1) for i in wanted.tolist()]

    def read(self, lo: int, hi: int) -> list[bytes]:
        raise TypeError("a Parquet file's rows are not lines of bytes")

    def __getstate__(self) -> dict[str, object]:
        return {**super().__getstate__(), "_read": None}

    def subset(self, positions: np.ndarray) -> ParquetRecords:
        at = np.asarray(positions, dtype=np.int64)
        return ParquetRecords(self.path, self.format, self.starts[at], self.ends[at], self.lines[at],
                              self.indices[at], self.groups)
