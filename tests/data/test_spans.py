"""Byte spans of each record, per file format: the clean writer copies exactly these bytes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from harness.data import load_records
from harness.data.record_file import RecordFile
from harness.data.spans import jsonl_spans, row_spans
from harness.errors import DataError

ROWS = [{"instruction": f'Say "{i}" \\ [x], {{y}}', "input": "", "output": f"ok {i},\n second line é"}
        for i in range(6)]


def _pieces(path: Path) -> list[bytes]:
    spans = row_spans(path, len(load_records(path)))
    return [bytes(spans.data[a:b]) for a, b in zip(spans.starts.tolist(), spans.ends.tolist(), strict=True)]


def test_jsonl_rows_keep_their_line_ends_and_skip_blank_lines(tmp_path: Path) -> None:
    lines = [json.dumps(r, ensure_ascii=False).encode() for r in ROWS]
    raw = b"\xef\xbb\xbf" + lines[0] + b"\r\n\n   \n" + b"\n".join(lines[1:])  # BOM, CRLF, blanks, no last \n
    path = tmp_path / "t.jsonl"
    path.write_bytes(raw)
    pieces = _pieces(path)
    assert pieces[0] == lines[0] + b"\r\n" and pieces[-1] == lines[-1]
    assert [json.loads(p) for p in pieces] == ROWS
    spans = row_spans(path, len(ROWS))
    assert spans.head == b"\xef\xbb\xbf" and spans.lines.tolist() == [1, 4, 5, 6, 7, 8]
    index = RecordFile.open(path)  # the spans a clean takes from the audit's own index: the same
    same = jsonl_spans(path, index.starts, index.ends, index.lines)
    assert same.head == spans.head and all(np.array_equal(getattr(same, k), getattr(spans, k))
                                           for k in ("starts", "ends", "lines"))


@pytest.mark.parametrize("indent", [None, 0, 4])
def test_json_array_elements_between_the_commas(tmp_path: Path, indent: int | None) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(ROWS, indent=indent, ensure_ascii=False), encoding="utf-8")
    pieces = _pieces(path)
    assert [json.loads(p) for p in pieces] == ROWS
    assert all(p.startswith(b"{") and p.endswith(b"}") for p in pieces)


def test_json_wrapper_and_single_record(tmp_path: Path) -> None:
    wrapped = tmp_path / "w.json"
    wrapped.write_text(json.dumps({"data": ROWS, "meta": {"list": [1, [2]], "s": "]["}}, indent=2))
    assert [json.loads(p) for p in _pieces(wrapped)] == ROWS
    spans = row_spans(wrapped, len(ROWS))
    assert json.loads(spans.empty) == {"data": [], "meta": {"list": [1, [2]], "s": "]["}}
    single = tmp_path / "s.json"
    record = {"messages": [{"role": "user", "content": "hi [1]"}, {"role": "assistant", "content": "yo"}]}
    single.write_text(json.dumps(record))
    assert [json.loads(p) for p in _pieces(single)] == [record]


def test_csv_rows_with_quoted_line_breaks(tmp_path: Path) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(ROWS[0]))
    writer.writeheader()
    writer.writerows(ROWS)
    path = tmp_path / "t.csv"
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")
    pieces = _pieces(path)
    assert [next(csv.reader(io.StringIO(p.decode()))) for p in pieces] == [list(r.values()) for r in ROWS]
    assert row_spans(path, len(ROWS)).head.startswith(b"instruction,input,output")


def test_rows_that_do_not_line_up_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    with pytest.raises(DataError, match="found 6 rows"):
        row_spans(path, 5)
