"""Cohen's kappa (checked against scikit-learn) and calibration against labelled anchors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from judge_helpers import FIXTURES, judge, make_items
from sklearn.metrics import cohen_kappa_score

from harness.data import load_records
from harness.errors import DataError
from harness.judge import run_judges
from harness.judge.calibration import cohen_kappa
from harness.testing.loopback import LoopbackJudge, SeenRequest, scripted

Start = Callable[..., LoopbackJudge]


@pytest.mark.parametrize("seed", range(5))
def test_kappa_matches_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 6, size=60)
    b = np.where(rng.random(60) < 0.6, a, rng.integers(1, 6, size=60))
    assert cohen_kappa(a.tolist(), b.tolist()) == pytest.approx(cohen_kappa_score(a, b))
    assert cohen_kappa(a.tolist(), b.tolist(), quadratic=True) == pytest.approx(
        cohen_kappa_score(a, b, weights="quadratic"))


def test_kappa_edge_cases() -> None:
    assert cohen_kappa(["x", "y", "x"], ["x", "y", "x"]) == 1.0
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["x", "x"], ["x", "x"]) is None  # one label for everything: undefined
    with pytest.raises(ValueError):
        cohen_kappa([1], [1, 2])


def write_anchors(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_pointwise_anchors_give_kappa_against_their_labels(loopback: Start, tmp_path: Path) -> None:
    records = load_records(FIXTURES / "alpaca_tiny_24.json")[:12]
    truth = ["WRONG" if i == 8 else "CORRECT" for i in range(12)]  # AlpacaDataCleaned removed row 8
    anchors = write_anchors(tmp_path / "anchors.jsonl", [
        {"id": str(i), "prompt": r.prompt, "output": r.response, "label": truth[i]}
        for i, r in enumerate(records)])
    flagged = {records[8].response, records[4].response}  # the judge also (wrongly) flags row 4

    def verdict(seen: SeenRequest) -> str:
        wrong = any(f"[Target response]\n{t}\n" in seen.text for t in flagged)
        return "[[WRONG]]" if wrong else "[[CORRECT]]"

    server = loopback(scripted(verdict))
    run = run_judges([judge(server, rubric="review", anchors=str(anchors))], make_items(2),
                     cache_path=tmp_path / "c.db", progress=False).runs[0]
    calibration = run.calibration
    assert calibration is not None and calibration.n == 12 and calibration.path == str(anchors)
    said = [0.0 if i in (4, 8) else 1.0 for i in range(12)]
    labels = [0.0 if t == "WRONG" else 1.0 for t in truth]
    assert calibration.kappa == pytest.approx(cohen_kappa_score(labels, said))
    assert calibration.accuracy == pytest.approx(11 / 12)
    assert len(run.verdicts) == 4 and server.request_count == 16  # anchors judged alongside the items


def test_pairwise_anchors(loopback: Start, tmp_path: Path) -> None:
    rows = [{"prompt": "Name a primary colour.", "base": "Green.", "candidate": "Red.", "label": "candidate"},
            {"prompt": "What is 2+2?", "base": "4", "candidate": "5", "label": "base"},
            {"prompt": "Say hi.", "base": "hi", "candidate": "hello", "label": "tie"}]
    anchors = write_anchors(tmp_path / "pairs.jsonl", rows)
    wins = {"Red.", "4"}  # the judge prefers these wherever they are shown, and ties the rest

    def verdict(seen: SeenRequest) -> str:
        a = seen.text.split("[Response of assistant A]\n")[1].split("\n")[0]
        b = seen.text.split("[Response of assistant B]\n")[1].split("\n")[0]
        return "[[A]]" if a in wins else ("[[B]]" if b in wins else "[[C]]")

    server = loopback(scripted(verdict))
    config = judge(server, rubric="pairwise", protocol="pairwise", anchors=str(anchors))
    run = run_judges([config], make_items(1), cache_path=tmp_path / "c.db", progress=False).runs[0]
    assert run.calibration is not None and run.calibration.kappa == 1.0 and run.calibration.n == 3


@pytest.mark.parametrize(("row", "message"), [
    ('{"prompt": "x", "label": 3}', r"anchors.jsonl:1: field 'output': a pointwise anchor needs output"),
    ('{"prompt": "x", "output": "y"}', "anchors.jsonl:1: field 'label'"),
    ("not json", "anchors.jsonl:1: not JSON"),
])
def test_bad_anchor_files_name_line_and_field(loopback: Start, tmp_path: Path, row: str,
                                              message: str) -> None:
    server = loopback()
    path = tmp_path / "anchors.jsonl"
    path.write_text(row + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=message):
        run_judges([judge(server, anchors=str(path))], make_items(1), cache_path=tmp_path / "c.db")
    assert server.request_count == 0
