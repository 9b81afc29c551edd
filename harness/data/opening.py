"""``open_records``: a dataset file's records, on demand where the format allows it.

A JSONL file is indexed (:class:`harness.data.record_file.RecordFile`, parsed
in chunks by whoever reads it); with ``tables`` a Parquet file is too
(:class:`harness.data.parquet_file.ParquetRecords`, read by row groups: the
Ray executor's actors read their own); any other file is loaded whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.data.loaders import check_path, load_records
from harness.data.parquet_file import ParquetRecords
from harness.data.record import Record
from harness.data.record_file import RecordFile


def open_records(path: str | Path, fmt: str = "auto", *, tables: bool = False) -> Sequence[Record]:
    """A JSONL file's records on demand (:class:`RecordFile`), and with ``tables`` a Parquet file's
    (:class:`ParquetRecords`); any other format loaded whole."""
    _, kind = check_path(path)
    if kind == "parquet" and tables:
        return ParquetRecords.open(path, fmt)
    return RecordFile.open(path, fmt) if kind == "jsonl" else load_records(path, fmt)
