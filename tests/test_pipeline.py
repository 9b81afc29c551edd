from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.pipeline import audit_suite, gate_results, rank_candidates, select_candidate, suite_audit_params
from harness.results import RunResults, load_audit
from harness.suite import load_suite

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "fixtures" / "tiny"


def suite(select: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    text = (ROOT / "tests" / "fixtures" / "tiny" / "suite.yaml").read_text()
    text = text.replace("../../../suites/demo/model", str(ROOT / "suites" / "demo" / "model"))
    for name in ("train.jsonl", "eval.jsonl", "general.jsonl"):
        text = text.replace(f": {name}", f": {ROOT / 'tests' / 'fixtures' / 'tiny' / name}")
    text = text.replace(
        "gates:\n  - exact_match >= 0.0\n  - audit.leakage == 0\n",
        "gates:\n  - exact_match >= 0.5\n  - general_perplexity <= 30\n",
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


def timeless(value: Any) -> Any:
    """``value`` without its timings (they differ from run to run)."""
    if isinstance(value, dict):
        return {k: timeless(v) for k, v in value.items() if k not in {"seconds", "stages"}}
    if isinstance(value, list):
        return [timeless(v) for v in value]
    return value


def test_suite_audit_params_take_the_sweeps_length_unless_the_audit_sets_one(tmp_path: Path) -> None:
    suite = load_suite(TINY / "suite.yaml")
    params = suite_audit_params(suite)
    assert (params.max_seq_len, params.ngram, params.near_duplicate_threshold) == (96, 13, 0.8)
    audit = suite.audit.model_copy(update={"max_seq_len": 64, "ngram": 8})
    params = suite_audit_params(suite.model_copy(update={"audit": audit}))
    assert (params.max_seq_len, params.ngram) == (64, 8)


@pytest.mark.slow
def test_the_cli_and_a_suite_audit_the_same_files_into_the_same_audit_json(tmp_path: Path) -> None:
    suite = load_suite(TINY / "suite.yaml")
    from_suite = audit_suite(suite, tmp_path / "suite", progress=False)
    model = str(suite.resolve(suite.base.path))  # the same path string: the summary names it
    code = main(["audit", str(TINY / "train.jsonl"), "--eval", str(TINY / "eval.jsonl"), "--tokenizer", model,
                 "--max-seq-len", "96", "--out", str(tmp_path / "cli"), "--quiet"])
    assert code == 0
    from_cli = load_audit(tmp_path / "cli" / "audit.json")
    assert load_audit(tmp_path / "suite" / "audit.json") == from_suite
    assert timeless(from_cli.model_dump(mode="json")) == timeless(from_suite.model_dump(mode="json"))
    assert any(c.check == "loss_mask" for c in from_cli.checks)  # the tokenizer's checks ran in both
    for folder, title in (("suite", "tiny: dataset audit"), ("cli", f"Audit of {TINY / 'train.jsonl'}")):
        assert f"<h1>{title}</h1>" in (tmp_path / folder / "audit.html").read_text()
