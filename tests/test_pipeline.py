from __future__ import annotations

from pathlib import Path

from harness.pipeline import gate_results, rank_candidates, select_candidate
from harness.results import RunResults
from harness.suite import load_suite

ROOT = Path(__file__).resolve().parent.parent


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
