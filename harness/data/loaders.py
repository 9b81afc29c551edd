"""Read a dataset file into normalized records, with errors that name file, line and field.

JSONL is streamed line by line (so errors carry line numbers and memory stays
bounded); JSON arrays are parsed whole; CSV and Parquet go through
``datasets.load_dataset``. Any failure is a :class:`DataError`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.data.formats import RowError, detect_format, normalize_row, require_format
from harness.data.record import Record
from harness.errors import DataError
from harness.userfiles import check_file

SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}


def load_records(path: str | Path, fmt: str = "auto", *, limit: int | None = None) -> list[Record]:
    """Load and normalize every record of ``path`` (``fmt``: auto or one of FORMATS)."""
    records = list(iter_records(path, fmt, limit=limit))
    if not records:
        raise DataError("no records (empty file)", path=path)
    return records


def iter_records(path: str | Path, fmt: str = "auto", *, limit: int | None = None) -> Iterator[Record]:
    p, kind = check_path(path)
    if fmt != "auto":
        require_format(fmt, str(p))
    rows = {"jsonl": _jsonl_rows, "json": _json_rows, "csv": _table_rows, "parquet": _table_rows}[kind](p)
    detected: str | None = None if fmt == "auto" else fmt
    for index, (line, row) in enumerate(rows):
        if limit is not None and index >= limit:
            return
        if detected is None:
            detected = detect(row, p, line)
        yield make_record(row, detected, p, index, line)


def raw_rows(path: str | Path) -> Iterator[tuple[int, Any]]:
    """(line, row) for every row of a file the loaders read, as parsed, before normalization."""
    p = Path(path)
    kind = SUFFIXES.get(p.suffix.lower())
    if kind is None or not p.is_file():
        raise DataError("not a dataset file (.jsonl, .json, .csv, .parquet)", path=p)
    yield from {"jsonl": _jsonl_rows, "json": _json_rows, "csv": _table_rows, "parquet": _table_rows}[kind](p)


def check_path(path: str | Path) -> tuple[Path, str]:
    """The path and its kind (jsonl, json, csv, parquet), or the DataError saying why not."""
    p = Path(path)
    kind = SUFFIXES.get(p.suffix.lower())
    check_file(p, "file", kind="json data" if kind == "json" else "data")  # no FIFO, device or giant
    if kind is None:
        raise DataError(f"unknown file type {p.suffix!r}", path=p, hint="use .jsonl, .json, .csv or .parquet")
    return p, kind


def make_record(row: Any, fmt: str, path: Path, index: int, line: int | None) -> Record:
    """Normalize one parsed row; a row that does not fit ``fmt`` is a DataError naming line and field."""
    try:
        turns = normalize_row(row, fmt)
    except RowError as exc:
        raise DataError(f"{exc.message} (format {fmt})", path=path, line=line, field=exc.field) from None
    return Record(turns=tuple(turns), index=index, source=str(path), format=fmt, line=line)


def detect(row: Any, path: Path, line: int) -> str:
    if not isinstance(row, dict):
        raise DataError(f"expected a JSON object, got {type(row).__name__}", path=path, line=line)
    fmt = detect_format(row)
    if fmt is None:
        keys = ", ".join(sorted(map(str, row))[:8]) or "none"
        raise DataError(
            f"cannot tell the format from keys ({keys})",
            path=path,
            line=line,
            hint="expected instruction/output, messages, conversations, prompt/completion or text",
        )
    return fmt


def decode_line(raw: bytes, path: Path, line: int) -> str:
    """``raw`` (a line, or a whole file starting at ``line``) as text; a bad byte is named by line."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = raw.rfind(b"\n", 0, exc.start) + 1  # where the bad byte's line begins
        raise DataError(f"not valid UTF-8 (byte {exc.start - start + 1} of the line)", path=path,
                        line=line + raw.count(b"\n", 0, exc.start)) from None


def parse_json(text: str, path: Path, line: int) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"malformed JSON: {exc.msg} at column {exc.colno}", path=path, line=line + exc.lineno - 1
        ) from None
    except RecursionError:
        raise DataError("JSON nested too deeply", path=path, line=line) from None


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            text = decode_line(raw, path, number)
            if number == 1:
                text = text.removeprefix("\ufeff")
            if not text.strip():
                continue
            # One record per line: drop the line end so a parse error reports this line, not the next.
            yield number, parse_json(text.rstrip("\r\n"), path, number)


def _json_rows(path: Path) -> Iterator[tuple[int, Any]]:
    text = decode_line(path.read_bytes(), path, 1).removeprefix("\ufeff")
    if not text.strip():
        raise DataError("no records (empty file)", path=path)
    data = parse_json(text, path, 1)
    if isinstance(data, dict):
        # {"data": [...]} and similar wrappers: take the single list value.
        lists = [v for v in data.values() if isinstance(v, list)]
        single_list = len(lists) == 1 and detect_format(data) is None
        data = lists[0] if single_list else [data]
    if not isinstance(data, list):
        raise DataError(f"expected a JSON array of records, got {type(data).__name__}", path=path)
    # A JSON array has no per-record lines without a second parser; report the record number.
    for i, row in enumerate(data):
        yield i + 1, row


_CSV_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _table_error(exc: BaseException, path: Path) -> DataError:
    """The reason a table could not be read: the innermost error of datasets' chain, by line when known."""
    seen = {id(exc)}
    while (inner := exc.__cause__ or exc.__context__) is not None and id(inner) not in seen:
        seen.add(id(inner))
        exc = inner
    if path.suffix.lower() == ".csv":  # a bad byte fails as pandas' or arrow's error, by chunk offset
        decode_line(path.read_bytes(), path, 1)  # raises naming the line; only read when the load failed
    text = str(exc).strip()
    fields = _CSV_FIELDS.search(text)
    if fields:
        want, line, saw = fields.groups()
        return DataError(f"malformed CSV: expected {want} fields, saw {saw}", path=path, line=int(line))
    first = text.splitlines()[0] if text else type(exc).__name__
    return DataError(f"cannot read table: {first}", path=path)


def _table_rows(path: Path) -> Iterator[tuple[int, Any]]:
    from datasets import load_dataset
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()  # one small table per call: its bar is noise on the CLI's stderr
    datasets_log = logging.getLogger("datasets")  # configured by its import, restored below
    level = datasets_log.level
    datasets_log.setLevel(logging.CRITICAL)  # its "Failed to read file" line repeats the error raised here
    try:
        kind = "csv" if path.suffix.lower() == ".csv" else "parquet"
        ds = load_dataset(kind, data_files=str(path), split="train")
    except Exception as exc:  # datasets raises many types; all mean "cannot read this table"
        raise _table_error(exc, path) from None
    finally:
        datasets_log.setLevel(level)
    offset = 2 if path.suffix.lower() == ".csv" else 1  # CSV: header is line 1
    for i, row in enumerate(ds):
        yield i + offset, {k: v for k, v in row.items() if v is not None}
