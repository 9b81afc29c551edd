"""Synthetic-data review on real Alpaca rows: the row human cleaning removed is the one reported."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from judge_helpers import FIXTURES, judge

from harness.data import Record, load_records
from harness.errors import ConfigError
from harness.judge import review_dataset
from harness.results import Ref
from harness.testing.loopback import LoopbackJudge, SeenRequest, scripted

Start = Callable[..., LoopbackJudge]


def records() -> list[Record]:
    return load_records(FIXTURES / "alpaca_tiny_24.json")


def removed_rows() -> set[int]:
    lines = (FIXTURES / "alignment_orig0-11.jsonl").read_text(encoding="utf-8").splitlines()
    return {row["orig_index"] for row in map(json.loads, lines) if row["status"] == "removed"}


def human_reviewer(rows: list[Record]) -> Callable[[SeenRequest], str]:
    """The loopback plays the AlpacaDataCleaned reviewers: WRONG exactly for the rows they removed."""
    bad = {rows[i].response for i in removed_rows()}

    def verdict(seen: SeenRequest) -> str:
        target = seen.text.split("[Target response]\n")[1].split("\n[End of target response]")[0]
        if target in bad:
            return "The instruction asks for a 3D render, which a text model cannot do.\n[[WRONG]]"
        return "The response does what was asked.\n[[CORRECT]]"

    return verdict


def test_full_review_reports_the_removed_row_as_an_error(loopback: Start, tmp_path: Path) -> None:
    rows = records()[:12]
    server = loopback(scripted(human_reviewer(rows)))
    findings = review_dataset(rows, judge(server, rubric="review"), fraction=1.0,
                              cache_path=tmp_path / "c.db", progress=False)
    errors = [f for f in findings if f.severity == "error"]
    assert removed_rows() == {8}
    assert [f.refs for f in errors] == [[Ref(split="train", index=8, file=rows[8].source)]]
    assert errors[0].check == "judge_review" and "judged wrong" in errors[0].message
    assert "3D render" in errors[0].message and errors[0].details["score"] == 0.0
    (summary,) = [f for f in findings if f.severity == "info"]
    assert "reviewed 12 of 12" in summary.message and summary.details["wrong"] == 1
    assert not [f for f in findings if f.severity == "warning"] and server.request_count == 12


def test_default_sample_is_ten_percent_seeded_and_cached(loopback: Start, tmp_path: Path) -> None:
    rows = records()
    server = loopback(scripted(human_reviewer(rows)))
    config = judge(server, rubric="review")
    first = review_dataset(rows, config, cache_path=tmp_path / "c.db", progress=False)
    assert server.request_count == 2  # 10% of 24 rows, rounded
    again = review_dataset(rows, config, cache_path=tmp_path / "c.db", progress=False)
    assert [f.message for f in again] == [f.message for f in first]
    assert again[-1].details["cache_hits"] == 2 and server.request_count == 2  # same seed: all cached
    review_dataset(rows, config, seed=1, cache_path=tmp_path / "c.db", progress=False)
    assert server.request_count > 2  # another seed, other rows


def test_unparseable_review_verdicts_are_warnings(loopback: Start, tmp_path: Path) -> None:
    rows = records()[:3]
    server = loopback(scripted(lambda seen: "Hard to say."))
    findings = review_dataset(rows, judge(server, rubric="review"), fraction=1.0,
                              cache_path=tmp_path / "c.db", progress=False)
    warnings = [f for f in findings if f.severity == "warning"]
    assert len(warnings) == 3 and all("verdict unparseable" in f.message for f in warnings)
    assert not [f for f in findings if f.severity == "error"]


def test_review_needs_a_rubric_with_a_pass_score(loopback: Start, tmp_path: Path) -> None:
    server = loopback()
    with pytest.raises(ConfigError, match="cannot review data"):
        review_dataset(records(), judge(server), cache_path=tmp_path / "c.db")
    with pytest.raises(ConfigError, match="fraction"):
        review_dataset(records(), judge(server, rubric="review"), fraction=0, cache_path=tmp_path / "c.db")
    assert server.request_count == 0
