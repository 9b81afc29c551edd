"""RecordFile (a JSONL file indexed, parsed on demand) gives exactly the loader's records and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.data import RecordFile, load_records, open_records
from harness.data.record import Record
from harness.errors import DataError

ROW = {"instruction": "Name a colour.", "input": "", "output": "Blue."}


def _lines(*rows: object) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows)


TRICKY = (
    "\ufeff" + json.dumps(ROW) + "\r\n"  # a BOM on line 1, a CRLF line end
    + "\n   \n\t\n"  # blank lines are skipped
    + "\u3000\u00a0\n"  # so is a line of Unicode whitespace only
    + "\x1c\x1f\n"  # and of the ASCII whitespace str.strip() knows
    + _lines(r'{"instruction": "héllo \ud83d\ude00 naïve", "output": "ça va"}', ROW,
             '  {"instruction": "lead space", "output": "ok"}  ', {"instruction": "x", "output": "y"})
)


@pytest.mark.parametrize("fmt", ["auto", "alpaca"])
def test_same_records_lines_and_indices_as_the_loader(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(TRICKY, encoding="utf-8")
    expected = load_records(path, fmt)
    got = RecordFile.open(path, fmt)
    assert len(got) == len(expected) == 5
    assert list(got) == expected and got[1:3] == expected[1:3] and got[-1] == expected[-1]
    assert [r.line for r in got] == [r.line for r in expected] == [1, 7, 8, 9, 10]
    start, end = got.span(len(got) - 1)
    assert json.loads(path.read_bytes()[start:end]) == {"instruction": "x", "output": "y"}


BAD = ['{"instruction": oops}', '{"instruction": "a"}', '{"a": 1} {"b": 2}', "[1, 2]",
       '{"instruction": "a", "output": "b"},', b'{"instruction": "\xff"}']


@pytest.mark.parametrize("bad", BAD)
def test_same_error_as_the_loader(tmp_path: Path, bad: str | bytes) -> None:
    path = tmp_path / "t.jsonl"
    line = bad if isinstance(bad, bytes) else bad.encode()
    path.write_bytes(_lines(ROW, ROW).encode() + line + b"\n" + _lines(ROW).encode())
    with pytest.raises(DataError) as expected:
        load_records(path)
    rows = RecordFile.open(path)
    with pytest.raises(DataError) as got:
        list(rows)
    assert str(got.value) == str(expected.value) and ":3" in str(got.value)


def test_open_records_loads_other_formats_whole(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps([ROW, ROW]))
    assert open_records(path) == load_records(path)
    with pytest.raises(DataError, match="no records"):
        (tmp_path / "e.jsonl").write_text("\n \n")
        open_records(tmp_path / "e.jsonl")
    with pytest.raises(DataError, match="no such file"):
        open_records(tmp_path / "missing.jsonl")


def test_look_ups_read_ahead_only_on_a_walk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A finding's rows (two neighbours among them) are parsed alone; a walk row after row reads
    ahead once it is a walk, and the rows it read ahead are then in the cache."""
    path = tmp_path / "walk.jsonl"
    path.write_text("".join(json.dumps({"instruction": f"q{i}", "output": f"a{i}"}) + "\n"
                            for i in range(3000)), encoding="utf-8")
    records = RecordFile.open(path)
    parsed: list[int] = []
    real = RecordFile.parse

    def counting(self: RecordFile, lo: int, hi: int) -> list[Record]:
        parsed.append(hi - lo)
        return real(self, lo, hi)

    monkeypatch.setattr(RecordFile, "parse", counting)
    for i in (10, 11, 500, 501, 502, 2000):
        assert records[i].response == f"a{i}"
    assert parsed == [1] * 6
    parsed.clear()
    assert [records[i].response for i in range(100, 1300)] == [f"a{i}" for i in range(100, 1300)]
    assert parsed == [1] * 8 + [1024, 1024]
