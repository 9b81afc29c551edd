"""Loading MMLU in the original hendrycks CSV layout, and other benchmarks as JSONL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.audit import BenchmarkDoc, load_benchmark
from harness.errors import DataError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audit"



def test_mmlu_root_and_test_folder_give_the_same_docs(mmlu_docs: list[BenchmarkDoc]) -> None:
    direct = load_benchmark("mmlu", FIXTURES / "mmlu" / "test")
    assert [d.text for d in direct] == [d.text for d in mmlu_docs]
    assert len(mmlu_docs) == 379
    assert [d.index for d in mmlu_docs] == list(range(379))
    first = mmlu_docs[0]
    assert first.id == "abstract_algebra/0" and first.answer == "B" and first.line == 1
    assert first.parts[0].startswith("Find the degree for the given field extension")
    assert first.text.splitlines()[1] == "A. 0"
    multiline = next(d for d in mmlu_docs if "\n" in d.parts[0])  # a quoted field spanning lines
    later = mmlu_docs[multiline.index + 1]
    assert later.source == multiline.source and later.line is not None and multiline.line is not None
    assert later.line > multiline.line + 1


def test_malformed_row_names_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "test"
    folder.mkdir()
    shutil.copy(FIXTURES / "mmlu" / "test" / "anatomy_test.csv", folder / "anatomy_test.csv")
    lines = (folder / "anatomy_test.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[4] = "What is this?,a,b,c,d,E\n"
    (folder / "anatomy_test.csv").write_text("".join(lines), encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_benchmark("mmlu", tmp_path)
    assert "anatomy_test.csv:5" in str(err.value) and "A-D" in str(err.value)
    header = "question,A,B,C,D,answer\n"
    (folder / "anatomy_test.csv").write_text(header + "".join(lines[:3]), encoding="utf-8")
    with pytest.raises(DataError, match=r"anatomy_test.csv:1.*no header"):
        load_benchmark("mmlu", tmp_path)
    (folder / "anatomy_test.csv").write_text("q,a,b\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"anatomy_test.csv:1.*6 fields"):
        load_benchmark("mmlu", tmp_path)


def test_missing_or_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such"):
        load_benchmark("mmlu", tmp_path / "nope")
    with pytest.raises(DataError, match="no MMLU CSV"):
        load_benchmark("mmlu", tmp_path)


def test_other_benchmarks_load_from_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "quiz.jsonl"
    path.write_text('{"question": "What is the capital of France?", "choices": ["Paris", "Rome"]}\n'
                    '{"text": "A plain passage with no choices."}\n', encoding="utf-8")
    docs = load_benchmark("quiz", path)
    assert [d.benchmark for d in docs] == ["quiz", "quiz"]
    assert docs[0].text == "What is the capital of France?\nA. Paris\nB. Rome"
    assert docs[1].parts == ("A plain passage with no choices.",)
    path.write_text('{"answer": 3}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"quiz.jsonl:1"):
        load_benchmark("quiz", path)
