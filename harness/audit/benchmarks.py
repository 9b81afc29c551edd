"""Benchmark documents for the contamination check, and their loaders.

A :class:`BenchmarkDoc` is one benchmark item as text (``text``) plus the parts
worth matching on their own (``parts``: an MMLU question and each choice).
``load_benchmark("mmlu", DIR)`` reads the original hendrycks CSV layout; any
other name reads a generic JSONL/JSON file (or a folder of them) whose rows
carry ``question``, ``text`` or ``prompt`` and optionally ``choices``. New
benchmarks register a loader in :data:`LOADERS`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import DataError
from harness.userfiles import check_file, read_text

LETTERS = ("A", "B", "C", "D")


@dataclass(frozen=True, slots=True)
class BenchmarkDoc:
    """One benchmark item; ``index`` is its 0-based number in the loaded list (refs point at it)."""

    benchmark: str
    index: int
    id: str
    text: str
    parts: tuple[str, ...]
    source: str
    line: int | None = None
    answer: str | None = None


def mmlu_text(question: str, choices: tuple[str, ...]) -> str:
    """The lm-eval MMLU prompt body: the question, then lettered choices."""
    return "\n".join([question, *(f"{letter}. {c}" for letter, c in zip(LETTERS, choices, strict=False))])


def _mmlu_files(path: Path) -> list[Path]:
    if not path.exists():
        raise DataError("no such benchmark folder", path=path)
    if path.is_file():
        return [path]
    folder = path / "test" if (path / "test").is_dir() else path
    files = sorted(folder.glob("*_test.csv")) or sorted(folder.glob("*.csv"))
    if not files:
        raise DataError("no MMLU CSV files (expected *_test.csv or a test/ folder)", path=path)
    return files


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    check_file(path, "benchmark file", kind="benchmark")  # a FIFO would hang the reader
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            line = 1
            for row in reader:
                yield line, row
                line = reader.line_num + 1  # a quoted field may span lines
    except UnicodeDecodeError as exc:
        raise DataError(f"not valid UTF-8 ({exc.reason})", path=path) from None
    except csv.Error as exc:
        raise DataError(f"malformed CSV: {exc}", path=path) from None


def _mmlu_row(row: list[str], path: Path, line: int) -> tuple[str, tuple[str, ...], str]:
    if len(row) != 6:
        raise DataError(f"expected 6 fields (question,A,B,C,D,answer), got {len(row)}", path=path,
                        line=line, hint="the original hendrycks layout has no header row")
    question, *choices, answer = row
    answer = answer.strip().upper()
    if answer not in LETTERS:
        raise DataError(f"answer must be one of A-D, got {row[5]!r}", path=path, line=line,
                        field="answer", hint="the original hendrycks layout has no header row")
    if not question.strip():
        raise DataError("empty question", path=path, line=line, field="question")
    return question, tuple(choices), answer


def load_mmlu(path: Path, name: str = "mmlu") -> list[BenchmarkDoc]:
    """MMLU in the original CSV layout: a folder of ``*_test.csv`` or a root holding ``test/``."""
    docs: list[BenchmarkDoc] = []
    for file in _mmlu_files(Path(path)):
        subject = file.stem.removesuffix("_test")
        for number, (line, row) in enumerate(_csv_rows(file)):
            question, choices, answer = _mmlu_row(row, file, line)
            docs.append(BenchmarkDoc(name, len(docs), f"{subject}/{number}", mmlu_text(question, choices),
                                     (question, *choices), str(file), line, answer))
    return docs


def _generic_rows(path: Path) -> Iterator[tuple[Path, int, Any]]:
    files = sorted(p for p in path.iterdir() if p.suffix in {".jsonl", ".json"}) if path.is_dir() \
        else [path]
    for file in files:
        text = read_text(file, "benchmark file", kind="benchmark")
        if file.suffix == ".json":
            try:
                rows = json.loads(text)
            except (json.JSONDecodeError, RecursionError) as exc:
                raise DataError(f"malformed JSON: {exc}", path=file) from None
            for i, row in enumerate(rows if isinstance(rows, list) else [rows]):
                yield file, i + 1, row
            continue
        for number, raw in enumerate(text.splitlines(), start=1):
            if raw.strip():
                try:
                    yield file, number, json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise DataError(f"malformed JSON: {exc.msg}", path=file, line=number) from None


def load_generic(path: Path, name: str) -> list[BenchmarkDoc]:
    """JSONL/JSON rows with ``question``/``text``/``prompt`` and optional ``choices``."""
    path = Path(path)
    if not path.exists():
        raise DataError("no such benchmark file or folder", path=path)
    docs: list[BenchmarkDoc] = []
    for file, line, row in _generic_rows(path):
        body = next((row.get(k) for k in ("question", "text", "prompt") if isinstance(row, dict)
                     and isinstance(row.get(k), str)), None)
        if body is None:
            raise DataError("expected an object with a 'question', 'text' or 'prompt' string",
                            path=file, line=line)
        choices = row.get("choices") or []
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            raise DataError("'choices' must be a list of strings", path=file, line=line, field="choices")
        text = mmlu_text(body, tuple(choices)) if choices else body
        docs.append(BenchmarkDoc(name, len(docs), str(row.get("id", f"{file.stem}/{line}")), text,
                                 (body, *choices), str(file), line))
    return docs


LOADERS: dict[str, Callable[[Path, str], list[BenchmarkDoc]]] = {"mmlu": load_mmlu}


def load_benchmark(name: str, path: Path) -> list[BenchmarkDoc]:
    """Load benchmark ``name`` from ``path``; :class:`DataError` on anything malformed."""
    loader = LOADERS.get(name.lower(), load_generic)
    docs = loader(Path(path), name)
    if not docs:
        raise DataError(f"benchmark {name!r} has no documents", path=path)
    return docs
