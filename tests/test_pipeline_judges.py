"""Judges inside a whole run: they see only the items they are configured for, and a judge that fails
(a 401) fails the run's gates without losing its work (results.json, items.jsonl, index.html)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from harness.errors import ConfigError
from harness.pipeline import judge_suite
from harness.results import ItemScore, load_results
from harness.suite import load_suite
from harness.testing.loopback import LoopbackJudge

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "fixtures" / "tiny"
KEY_ENV = "HARNESS_TEST_PIPELINE_JUDGE_KEY"
KEY = "sk-test-PIPELINE-5e1d0c9b8a7f6e5d"
sys.path.insert(0, str(ROOT / "tests" / "judge"))  # the judge tests' Alpaca items


@pytest.fixture
def server() -> Iterator[LoopbackJudge]:
    with LoopbackJudge(api_key=KEY) as judge:
        yield judge


def write_suite(folder: Path, server: LoopbackJudge, **judge: object) -> Path:
    suite = yaml.safe_load((TINY / "suite.yaml").read_text(encoding="utf-8"))
    suite["base"]["path"] = str(ROOT / "suites" / "demo" / "model")
    suite["data"] = {k: str(TINY / v) for k, v in suite["data"].items()}
    suite["audit"] = {"enabled": False}
    suite["sweep"]["defaults"]["max_steps"] = 2
    suite["sweep"]["eval_every"] = 2
    suite["sweep"]["trials"] = suite["sweep"]["trials"][:1]
    suite["score"]["metrics"] = ["exact_match", "perplexity"]  # perplexity: general text is scored too
    suite["score"]["max_new_tokens"] = 12
    suite["judges"] = [{"name": "helpful", "backend": "openai", "model": "judge-model",
                        "rubric": "helpfulness", "base_url": server.openai_base_url, "api_key_env": KEY_ENV,
                        **judge}]
    suite["gates"] = ["exact_match >= 0.0"]
    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(suite), encoding="utf-8")
    return path


def score_rows(candidate: str = "ft") -> list[ItemScore]:
    """What scoring writes: eval items, general text (no prompt, no output) and MMLU answers."""
    rows = []
    for model in ("base", candidate):
        rows += [ItemScore(item_id=f"eval/{i}", model=model, prompt=f"ITEM-e{i}: name the mood",
                           output=f"{model} says shy {i}", reference="shy") for i in range(3)]
        rows += [ItemScore(item_id=f"general/{i}", model=model, prompt="", output="",
                           reference=f"Once upon a time {i}.") for i in range(5)]
        rows += [ItemScore(item_id=f"mmlu/logic/{i}", model=model, prompt=f"ITEM-m{i}: which follows?",
                           output="B", reference="C") for i in range(4)]
    return rows


def test_judges_see_only_the_eval_items_unless_configured(tmp_path: Path, server: LoopbackJudge,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: every row was grouped, so 12 items were judged (5 with an empty prompt and output).
    monkeypatch.setenv(KEY_ENV, KEY)
    suite = load_suite(write_suite(tmp_path, server))
    report = judge_suite(suite, score_rows(), "ft", tmp_path)
    assert report is not None and report.runs[0].items == 3
    assert sorted(server.received_per_item()) == ["e0", "e1", "e2"]
    assert all(s.text.count("[User request]\nITEM-e") == 1 for s in server.requests)
    with_mmlu = load_suite(write_suite(tmp_path, server, name="mmlu-too", splits=["eval", "mmlu"]))
    both = judge_suite(with_mmlu, score_rows(), "ft", tmp_path / "b")
    assert both is not None
    run = both.runs[0]
    assert run.items == 7 and {v.item_id.split("/")[0] for v in run.verdicts} == {"eval", "mmlu"}


def test_general_text_cannot_be_judged(tmp_path: Path, server: LoopbackJudge) -> None:
    with pytest.raises(ConfigError, match=r"judges\[0\]\.splits\[0\]: .*'eval', 'mmlu' or 'train'"):
        load_suite(write_suite(tmp_path, server, splits=["general"]))


@pytest.mark.slow
def test_a_judge_answering_401_fails_the_run_but_loses_none_of_its_work(
        tmp_path: Path, server: LoopbackJudge, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    wrong = "sk-test-WRONG-0a1b2c3d4e5f6a7b"
    monkeypatch.setenv(KEY_ENV, wrong)
    suite, out = write_suite(tmp_path, server), tmp_path / "run"
    # Before: the JudgeError escaped the pipeline after scoring: exit 2 and no results.json.
    assert main(["run", str(suite), "--out", str(out), "--quiet"]) == 1
    printed = capsys.readouterr()
    for name in ("results.json", "items.jsonl", "index.html"):
        assert (out / name).is_file(), name
    results = load_results(out / "results.json")
    assert results.judges is not None
    run = results.judges.runs[0]
    assert run.error == "HTTP 401: invalid api key" and run.items == 16 and run.failed == 32
    assert 1 <= run.requests <= 8  # stopped at once: the requests in flight, not 32 judgements x 7 attempts
    own = next(g for g in results.gates if g.name == "judge.helpful")
    assert not own.passed and "HTTP 401: invalid api key" in own.message and not results.passed
    shown = " ".join(printed.err.split())  # the console wraps long lines
    assert "judge helpful: every judgement has a verdict: FAILED: judge 'helpful' stopped: HTTP 401" in shown
    assert "gates: FAILED" in shown
    page = (out / "index.html").read_text(encoding="utf-8")
    assert 'id="judges"' in page and "HTTP 401: invalid api key" in page
    written = "".join(p.read_text(encoding="utf-8", errors="replace") for p in out.rglob("*")
                      if p.is_file() and p.suffix in {".json", ".jsonl", ".html"})
    assert wrong not in written + printed.out + printed.err
    assert len({json.loads(line)["item_id"] for line in (out / "items.jsonl").read_text().splitlines()}) > 16

    # The right key: the rerun reuses the trained adapter and the scores, and judges the 16 eval
    # items only; the 12 general-text items (scored for perplexity) are never sent.
    monkeypatch.setenv(KEY_ENV, KEY)
    before = server.request_count
    assert main(["run", str(suite), "--out", str(out), "--quiet"]) == 0
    judged = load_results(out / "results.json").judges
    assert judged is not None
    run = judged.runs[0]
    assert run.error is None and run.items == 16 and len(run.verdicts) == 32 and run.failed == 0
    sent = server.requests[before:]
    # One request per distinct output (identical base and candidate outputs are asked once).
    assert 16 <= len(sent) <= 32 and len({s.key for s in sent}) == len(sent)
    assert all("[User request]\n\n" not in s.text for s in sent)  # no empty (general-text) prompt
    assert {v.item_id.split("/")[0] for v in run.verdicts} == {"eval"}


@pytest.mark.slow
def test_eval_runs_the_judges_as_run_does(tmp_path: Path, server: LoopbackJudge,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`harness eval` shares run's judge stage: the judges, their results and their gate."""
    from harness.cli import main

    monkeypatch.setenv(KEY_ENV, KEY)
    suite, out = write_suite(tmp_path, server), tmp_path / "eval"
    adapter = ROOT / "tests" / "fixtures" / "score" / "adapter_good"
    assert main(["eval", str(suite), "--out", str(out), "--adapter", f"ft={adapter}", "--quiet"]) == 0
    results = load_results(out / "results.json")
    assert results.judges is not None  # before: eval never called the judges
    run = results.judges.runs[0]
    assert run.error is None and run.items == 16 and len(run.verdicts) == 32 and run.failed == 0
    assert {v.item_id.split("/")[0] for v in run.verdicts} == {"eval"} and server.request_count >= 16
    gate = next(g for g in results.gates if g.name == "judge.helpful")
    assert gate.passed and results.passed
