"""End to end on a reduced copy of the chatml suite: a cloned real template through audit, training,
scoring, the report and export, with parity breaks planted at the two ends (prompt and export)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.pipeline import run_suite
from harness.results import RunResults
from harness.suite import load_suite

pytestmark = pytest.mark.slow

SUITE = Path(__file__).resolve().parent / "fixtures" / "chatml" / "suite.yaml"
IM_END = 514  # <|im_end|> after cloning Qwen2.5's tokens onto stories260k's 512


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunResults]:
    out = tmp_path_factory.mktemp("chatml")
    return out, run_suite(load_suite(SUITE), out, progress=False)


def test_the_run_records_the_clone_and_finds_no_parity_break(run: tuple[Path, RunResults]) -> None:
    out, results = run
    t = results.template
    assert t is not None and t.parity == 0 and t.compared == 16
    assert t.template.clone_source and t.template.clone_source.endswith("qwen2.5-instruct.json")
    assert t.template.end_of_turn == "<|im_end|>" == t.template.eos_token and t.template.vocab_size == 576
    assert t.template.stop_token_ids == [IM_END] and len(t.template.added_ids) == 22
    assert results.hashes["template"].startswith("clone of qwen2.5-instruct.json:")
    assert {s.model for s in t.stops} == {"base", "a"}
    base = t.stop("base")
    assert base is not None and base.unterminated == 16  # the untrained <|im_end|> row: never written
    assert results.models["base"]["stop_rate"] == 0.0
    cand = t.stop("a")
    assert cand is not None and results.models["a"]["stop_rate"] == cand.stop_rate
    assert all(g.passed for g in results.gates if g.name == "template.parity")
    saved = json.loads((out / "results.json").read_text())
    assert saved["template"]["findings"] == [] and saved["template"]["examples"][0]["kind"] == "training"
    audit = {c.check: c.findings for c in results.audit.checks} if results.audit else {}
    assert audit["parity_generation_prompt"] == 0 and audit["parity_end_of_turn"] == 0


def test_a_rerun_without_the_model_hits_the_cache(run: tuple[Path, RunResults]) -> None:
    """The scorer's model-free tokenizer (cache keys) is the one training cloned: every result is
    found, and no model is loaded."""
    from harness.score.engine import evaluate

    out, results = run
    adapters = results.sweep.adapters(out) if results.sweep else {}
    again = evaluate(load_suite(SUITE), adapters, cache_path=out / "cache" / "scores.sqlite", progress=False)
    assert again.forward_passes == {"base": 0, "a": 0}
    assert again.hashes["tokenizer"] == results.hashes["tokenizer"]
    assert again.template is not None and again.template.template == results.template.template  # type: ignore[union-attr]


def test_report_shows_the_tokens(run: tuple[Path, RunResults]) -> None:
    html = (run[0] / "index.html").read_text()
    assert 'id="template"' in html and 'class="tok special" title="id 513">&lt;|im_start|&gt;</span>' in html
    assert 'class="answer-start"' in html and 'class="tok loss' in html
    assert "<|im_start|>" not in html  # escaped everywhere


def test_export_reproduces_the_adapter_and_renders_identically(run: tuple[Path, RunResults], tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = run
    to = tmp_path / "merged"
    assert main(["export", str(SUITE), "--trial", "a", "--to", str(to), "--out", str(out)]) == 0
    printed = " ".join(capsys.readouterr().err.split())  # the console writes to stderr, wrapped
    assert "16/16 outputs identical" in printed and "reloaded from disk: 16/16 identical" in printed
    assert "16 eval prompts render to the same ids" in printed
    gen = json.loads((to / "generation_config.json").read_text())
    assert IM_END in gen["eos_token_id"]
    assert json.loads((to / "config.json").read_text())["vocab_size"] == 576


def test_export_with_a_planted_generation_config_fails_with_one_line(
    run: tuple[Path, RunResults], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import harness.train.merge as merge

    real = merge.save_export

    def drop_end_of_turn(model, tokenizer, folder, stops):  # type: ignore[no-untyped-def]
        real(model, tokenizer, folder, stops)
        path = folder / "generation_config.json"
        config = json.loads(path.read_text())
        config["eos_token_id"] = [2]  # the base's </s>: what a careless export keeps
        path.write_text(json.dumps(config))

    monkeypatch.setattr(merge, "save_export", drop_end_of_turn)
    code = main(["export", str(SUITE), "--trial", "a", "--to", str(tmp_path / "bad"), "--out", str(run[0])])
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("harness:")]
    assert code == 1 and len(err) == 1
    assert "export_generation_config" in err[0] and "lacks stop token(s) [514]" in err[0]
