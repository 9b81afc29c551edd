"""ParquetRecords: a Parquet file's records read a chunk of row groups at a time equal the loader's."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from harness.data import load_records, open_records
from harness.data.parquet_file import ParquetRecords
from harness.errors import DataError
from tests.audit.clean_support import layout, real_rows


def _write(path: Path, rows: list[dict[str, object]], group: int) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=group)
    return path


@pytest.mark.parametrize("kind", ["alpaca", "messages", "conversations"])
@pytest.mark.parametrize("group", [7, 1000])
def test_records_equal_the_loaders_in_every_layout(tmp_path: Path, kind: str, group: int) -> None:
    rows: list[dict[str, object]] = [layout(r, kind) for r in real_rows()[:50]]
    if kind == "alpaca":
        rows[5] = {**rows[5], "input": None}  # a null field is dropped, as the loader drops it
    path = _write(tmp_path / "t.parquet", rows, group)
    loaded = load_records(path)
    lazy = ParquetRecords.open(path)
    assert len(lazy) == len(loaded) and list(lazy) == loaded
    assert lazy[10:23] == loaded[10:23] and lazy[-1] == loaded[-1]
    picked = lazy.subset(np.array([0, 6, 7, 8, 30, 49]))
    assert list(picked) == [loaded[i] for i in (0, 6, 7, 8, 30, 49)]
    assert list(pickle.loads(pickle.dumps(picked))) == list(picked)  # what a worker receives
    assert (lazy.ends - lazy.starts).min() > 0  # each row has a size to chunk by


def test_only_with_tables_does_open_records_read_parquet_lazily(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.parquet", [dict(r) for r in real_rows()[:5]], 2)
    assert isinstance(open_records(path, tables=True), ParquetRecords)
    assert isinstance(open_records(path), list)


def test_a_bad_row_and_a_bad_file_are_one_line(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [dict(r) for r in real_rows()[:9]]
    rows[6] = {**rows[6], "output": None}  # the loader drops the null: the row has no output
    bad = _write(tmp_path / "b.parquet", rows, 4)
    with pytest.raises(DataError) as err:
        list(ParquetRecords.open(bad, "alpaca"))
    with pytest.raises(DataError) as loader_err:
        load_records(bad, "alpaca")
    assert str(err.value) == str(loader_err.value) and ":7:" in str(err.value)
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="cannot read table"):
        ParquetRecords.open(junk)
