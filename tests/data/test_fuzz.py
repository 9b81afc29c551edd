"""Property tests: any input ends in normalized records (or a suite) or a HarnessError, nothing else."""

from __future__ import annotations

import json
import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.data import load_records
from harness.data.record import Record
from harness.errors import HarnessError
from harness.suite import load_suite
from harness.testing.fuzzing import GENERATORS

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "instruction",
                    "input",
                    "output",
                    "messages",
                    "role",
                    "content",
                    "text",
                    "from",
                    "value",
                    "conversations",
                    "prompt",
                    "completion",
                    "x",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


def outcome(path: Path) -> str:
    try:
        records = load_records(path)
    except HarnessError as exc:
        assert "\n" not in str(exc) and str(path.name) in str(exc)
        return "error"
    assert records and all(isinstance(r, Record) for r in records)
    for r in records:
        for t in r.turns:  # every string we hand on is valid Unicode
            t.content.encode("utf-8")
            t.role.encode("utf-8")
    return "records"


@SETTINGS
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_as_jsonl(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "x.jsonl"
    p.write_bytes(data)
    outcome(p)


@SETTINGS
@given(rows=st.lists(json_values, max_size=5), cut=st.integers(min_value=0, max_value=400))
def test_json_rows_whole_or_truncated(tmp_path: Path, rows: list[object], cut: int) -> None:
    lines = "\n".join(json.dumps(r) for r in rows)
    for name, text in (
        ("a.jsonl", lines),
        ("b.jsonl", lines[:cut]),
        ("c.json", json.dumps(rows)),
        ("d.json", json.dumps(rows)[:cut]),
    ):
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        outcome(p)


@SETTINGS
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), kind=st.sampled_from(["jsonl", "json", "csv"]))
def test_generated_hostile_files(tmp_path: Path, seed: int, kind: str) -> None:
    suffix, make = GENERATORS[kind]
    p = tmp_path / f"f{suffix}"
    p.write_bytes(make(random.Random(seed)))
    outcome(p)


@SETTINGS
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_suite_parser(tmp_path: Path, seed: int) -> None:
    suffix, make = GENERATORS["suite"]
    p = tmp_path / f"s{suffix}"
    p.write_bytes(make(random.Random(seed)))
    try:
        load_suite(p)
    except HarnessError as exc:
        assert "\n" not in str(exc) and p.name in str(exc)
