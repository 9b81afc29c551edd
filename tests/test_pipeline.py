"""The pipeline's audit stage and its writing step: one audit path for suites and `harness audit`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.assemble import assemble_results
from harness.baseline import read_lock_contents
from harness.cli import main
from harness.pipeline import audit_suite, baseline_lock, finish_evaluation, suite_audit_params
from harness.results import Comparison, Evaluation, ItemScore, load_audit, load_results
from harness.suite import load_suite

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "fixtures" / "tiny"


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


def test_writing_is_separate_from_assembling(tmp_path: Path) -> None:
    suite = load_suite(TINY / "suite.yaml")
    rows = [ItemScore(item_id=f"eval/{i}", model=m, prompt="p", output="o", reference="r",
                      scores={"exact_match": float(m == "ft")}) for m in ("base", "ft") for i in range(3)]
    comp = Comparison(metric="exact_match", base="base", candidate="ft", base_value=0.0, candidate_value=1.0,
                      delta=1.0, ci_low=1.0, ci_high=1.0, n=3)
    scored = Evaluation(models={"base": {"exact_match": 0.0}, "ft": {"exact_match": 1.0}}, comparisons=[comp],
                        items=rows, forward_passes={"base": 1, "ft": 1}, hashes={"base": "b"})
    out = tmp_path / "run"
    written = finish_evaluation(suite, out, scored, audit=None, sweep=None)
    lock = read_lock_contents(baseline_lock(suite, out))
    expected = assemble_results(suite, scored, lock=lock, run_dir=out)
    assert written == expected == load_results(out / "results.json")
    assert {p.name for p in out.iterdir()} == {"results.json", "items.jsonl", "index.html"}
    assert len((out / "items.jsonl").read_text().splitlines()) == 6


@pytest.mark.parametrize("name", ["../../x", "/tmp/elsewhere", "..", ".", "a/../../../b", "a\\..\\..\\b"])
def test_the_default_output_folder_stays_under_reports(tmp_path: Path, name: str) -> None:
    import yaml

    from harness.pipeline import default_out

    doc = {**yaml.safe_load((TINY / "suite.yaml").read_text()), "name": name}
    path = TINY / f".suite-{abs(hash(name))}.yaml"  # beside the fixtures: relative paths resolve
    path.write_text(yaml.safe_dump(doc))
    try:
        suite = load_suite(path)
    finally:
        path.unlink()
    out = default_out(suite)
    assert suite.name == name  # the display name is kept
    reports = Path("reports").resolve()
    assert out.resolve().parent == reports, out
