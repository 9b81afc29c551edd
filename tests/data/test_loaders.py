from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.data import load_records
from harness.data.record import ASSISTANT, SYSTEM, USER
from harness.errors import DataError


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return p


def jsonl(rows: list[object]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def test_alpaca_with_input_becomes_user_and_assistant(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "a.jsonl",
        jsonl(
            [
                {"instruction": "Sum", "input": "1 2", "output": "3"},
                {"instruction": "Hi", "input": "", "output": "Hello"},
            ]
        ),
    )
    recs = load_records(p)
    assert [r.format for r in recs] == ["alpaca", "alpaca"]
    assert recs[0].turns[0].role == USER and recs[0].turns[0].content == "Sum\n\n1 2"
    assert recs[0].response == "3" and recs[1].prompt == "Hi"
    assert [r.index for r in recs] == [0, 1] and [r.line for r in recs] == [1, 2]


def test_sharegpt_roles_are_mapped_and_unknown_roles_kept(tmp_path: Path) -> None:
    rows = [
        {
            "conversations": [
                {"from": "system", "value": "S"},
                {"from": "human", "value": "Q"},
                {"from": "gpt", "value": "A"},
                {"from": "tool", "value": "T"},
            ]
        }
    ]
    rec = load_records(write(tmp_path, "c.jsonl", jsonl(rows)))[0]
    assert [t.role for t in rec.turns] == [SYSTEM, USER, ASSISTANT, "tool"]


def test_messages_json_array_and_content_parts(tmp_path: Path) -> None:
    rows = [
        {
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                {"role": "assistant", "content": "c"},
            ]
        }
    ]
    rec = load_records(write(tmp_path, "m.json", json.dumps(rows)))[0]
    assert rec.turns[0].content == "ab" and rec.response == "c"


def test_csv_goes_through_datasets(tmp_path: Path) -> None:
    p = write(tmp_path, "t.csv", 'prompt,completion\nhello,world\n"a,b",c\n')
    recs = load_records(p)
    assert [r.response for r in recs] == ["world", "c"] and recs[1].prompt == "a,b"


def test_parquet_goes_through_datasets(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    p = tmp_path / "t.parquet"
    pd.DataFrame({"text": ["one story", "two stories"]}).to_parquet(p)
    recs = load_records(p)
    assert [r.response for r in recs] == ["one story", "two stories"] and recs[0].is_text


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        ('{"instruction": "a", "output": "b"}\n{"instruction": "a", "output": \n', "x.jsonl:2"),
        ('{"instruction": "a", "output": "b"}\n{"instruction": "a"}\n', "x.jsonl:2: field 'output'"),
        ('{"instruction": "a", "output": 5}\n', "x.jsonl:1: field 'output': expected a string, got int"),
        ('{"messages": [{"role": "user"}]}\n', "x.jsonl:1: field 'messages[0].content'"),
        ('{"foo": 1}\n', "x.jsonl:1: cannot tell the format"),
        ("", "x.jsonl: no records"),
        ('{"instruction": "\\ud800", "output": "b"}\n', "lone surrogate"),
    ],
)
def test_bad_input_names_file_line_and_field(tmp_path: Path, content: str, expect: str) -> None:
    p = write(tmp_path, "x.jsonl", content)
    with pytest.raises(DataError) as err:
        load_records(p)
    assert expect in str(err.value)
    assert "\n" not in str(err.value)


def test_non_utf8_line_is_named(tmp_path: Path) -> None:
    p = write(tmp_path, "x.jsonl", b'{"text": "ok"}\n{"text": "\xff\xfe"}\n')
    with pytest.raises(DataError, match=r"x\.jsonl:2: not valid UTF-8"):
        load_records(p)


@pytest.mark.parametrize(("name", "content", "says"), [
    ("t.csv", b'prompt,completion\nhello,world\n"a,b",c,d\n',
     r"t\.csv:3: malformed CSV: expected 2 fields, saw 3$"),
    ("t.csv", b"prompt,completion\nhello,world\nbad \xed\xa0,c\n",
     r"t\.csv:3: not valid UTF-8 \(byte 5 of the line\)$"),
    ("t.json", b'[{"text": "a"},\n {"text": "\xff"}]',
     r"t\.json:2: not valid UTF-8 \(byte 12 of the line\)$"),
])
def test_a_bad_table_or_array_names_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str,
                                             content: bytes, says: str) -> None:
    with pytest.raises(DataError) as err:
        load_records(write(tmp_path, name, content))
    assert re.search(says, str(err.value)), str(err.value)
    assert capsys.readouterr().err == ""  # datasets' own "Failed to read file" line is not printed too


def test_missing_file_and_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_records(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match="unknown file type"):
        load_records(write(tmp_path, "x.txt", "hi"))


def test_forced_format_must_fit_every_row(tmp_path: Path) -> None:
    p = write(tmp_path, "x.jsonl", jsonl([{"text": "a"}]))
    with pytest.raises(DataError, match="field 'instruction'"):
        load_records(p, "alpaca")
    with pytest.raises(DataError, match="unknown format"):
        load_records(p, "yaml")
