"""Assembling results: candidate selection, the baseline comparison and the gates, as a pure function."""

from __future__ import annotations

import builtins
import io
import os
from pathlib import Path
from typing import Any

import pytest

from harness.assemble import assemble_results, gate_results, rank_candidates, select_candidate
from harness.baseline import Baseline, LockContents
from harness.config import SuiteConfig
from harness.results import Evaluation, ItemScore, RunResults
from harness.suite import load_suite

ROOT = Path(__file__).resolve().parent.parent
HASHES = {"base": "b" * 64, "tokenizer": "7" * 64, "data:eval": "d" * 64, "scorer_version": "1"}


def suite(select: str, tmp_path: Path, extra_gate: str = "") -> SuiteConfig:
    text = (ROOT / "tests" / "fixtures" / "tiny" / "suite.yaml").read_text()
    text = text.replace("../../../suites/demo/model", str(ROOT / "suites" / "demo" / "model"))
    for name in ("train.jsonl", "eval.jsonl", "general.jsonl"):
        text = text.replace(f": {name}", f": {ROOT / 'tests' / 'fixtures' / 'tiny' / name}")
    text = text.replace(
        "gates:\n  - exact_match >= 0.0\n  - audit.leakage == 0\n",
        "gates:\n  - exact_match >= 0.5\n  - general_perplexity <= 30\n"
        + (f"  - {extra_gate}\n" if extra_gate else ""),
    )
    text = text.replace("  bootstrap: 200\n", f"  bootstrap: 200\n  select: {select}\n")
    p = tmp_path / f"{select}.yaml"
    p.write_text(text)
    return load_suite(p)


MODELS = {
    "base": {"exact_match": 0.0, "general_perplexity": 5.0},
    "wide": {"exact_match": 0.9, "general_perplexity": 500.0},
    "narrow": {"exact_match": 0.6, "general_perplexity": 20.0},
    "weak": {"exact_match": 0.3, "general_perplexity": 6.0},
}


def test_rank_and_select(tmp_path: Path) -> None:
    s = suite("best", tmp_path)
    assert rank_candidates(s, MODELS) == ["wide", "narrow", "weak"]
    assert select_candidate(s, MODELS) == "wide"


def test_best_passing_picks_the_best_that_meets_every_gate(tmp_path: Path) -> None:
    best = gate_results(suite("best", tmp_path), RunResults(suite="t", models=MODELS, candidate="wide"))
    assert best.candidate == "wide" and not best.passed
    passing = gate_results(
        suite("best_passing", tmp_path), RunResults(suite="t", models=MODELS, candidate="wide")
    )
    assert passing.candidate == "narrow" and passing.passed
    none = {k: v for k, v in MODELS.items() if k != "narrow"}
    fallback = gate_results(
        suite("best_passing", tmp_path), RunResults(suite="t", models=none, candidate="wide")
    )
    assert fallback.candidate == "wide" and not fallback.passed


def test_rank_takes_the_primary_metrics_direction_from_the_registry(tmp_path: Path) -> None:
    from harness import metric

    @metric(higher_is_better=False)
    def pipeline_typos(output: str) -> float:  # a user's lower-is-better metric
        return float(output.count("teh"))

    s = suite("best", tmp_path)
    models = {name: {**values, "pipeline_typos": -values["exact_match"]} for name, values in MODELS.items()}
    for primary, ranked in [("general_perplexity", ["weak", "narrow", "wide"]),
                            ("pipeline_typos", ["wide", "narrow", "weak"])]:
        ranking = s.model_copy(update={"score": s.score.model_copy(update={"primary_metric": primary})})
        assert rank_candidates(ranking, models) == ranked


def items(model: str, right: set[int]) -> list[ItemScore]:
    return [
        ItemScore(item_id=f"eval/{i}", model=model, prompt=f"p{i}", output=f"{model} {i}", reference=f"r{i}",
                  scores={"exact_match": float(i in right)})
        for i in range(10)
    ]


def no_io(*_: Any, **__: Any) -> Any:
    raise AssertionError("assembling results opened a file")


def test_assembling_is_a_pure_function_of_its_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = suite("best_passing", tmp_path, "baseline.regressed == 0")
    rows = items("base", set()) + items("wide", set(range(9))) + items("narrow", {0, 1, 2, 3, 4, 5})
    scored = Evaluation(models=MODELS, comparisons=[], items=rows, forward_passes={"base": 3}, hashes=HASHES)
    # The accepted run's "narrow" got item 6 right too: the current "narrow" regressed on it.
    accepted = RunResults(suite="t", models=MODELS, candidate="narrow", hashes=HASHES)
    lock = tmp_path / "nowhere" / "baseline.lock.json"  # never read: the contents are given
    contents = LockContents(lock, Baseline(lock, 2, "2025-01-01T00:00:00+00:00", accepted,
                                           items("narrow", {0, 1, 2, 3, 4, 5, 6})))
    before = sorted(tmp_path.rglob("*"))
    for target, name in ((builtins, "open"), (io, "open"), (os, "open")):
        monkeypatch.setattr(target, name, no_io)
    first = assemble_results(s, scored, lock=contents, run_dir=tmp_path / "run")
    again = assemble_results(s, scored, lock=contents, run_dir=tmp_path / "run")
    monkeypatch.undo()
    assert first == again and sorted(tmp_path.rglob("*")) == before
    # best_passing: "wide" fails general_perplexity, "narrow" fails baseline.regressed, "weak" exact_match
    assert first.candidate == "wide" and [g.passed for g in first.gates] == [True, False, True]
    assert first.meta == {"forward_passes": {"base": 3}, "primary_metric": "exact_match"}
    assert first.baseline is not None and first.baseline.lock == str(lock) and first.baseline.comparable
    assert first.baseline.accept_command == f"harness baseline accept {tmp_path / 'run'} --to {lock}"
    missing = assemble_results(s, scored, lock=LockContents(lock), run_dir=tmp_path / "run")
    assert missing.baseline is not None and not missing.baseline.found
    assert missing.candidate == "narrow" and missing.passed  # no lockfile, not required: passes
