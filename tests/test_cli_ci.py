"""The CLI's own CI outputs and ``harness init``, end to end through ``python -m harness.cli``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def harness(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, tiny_suite_path: Path) -> Path:
    """The tiny suite with absolute paths, as ok.yaml and impossible.yaml (a gate no run passes)."""
    folder = tmp_path_factory.mktemp("ci")
    text = tiny_suite_path.read_text()
    for name in ("train.jsonl", "eval.jsonl", "general.jsonl"):
        text = text.replace(f": {name}", f": {tiny_suite_path.parent / name}")
    text = text.replace("../../../suites/demo/model", str(ROOT / "suites" / "demo" / "model"))
    (folder / "ok.yaml").write_text(text)
    (folder / "impossible.yaml").write_text(text.replace("  - exact_match >= 0.0", "  - exact_match >= 1.5"))
    return folder


def _junit(path: Path) -> dict[str, ET.Element]:
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    return {str(c.get("name")): c for c in suite.iter("testcase")}


@pytest.mark.slow
def test_run_and_eval_write_junit_and_summary_passing_then_failing(tiny: Path) -> None:
    step = tiny / "step_summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(step)}
    out = tiny / "out"
    ok = harness("run", str(tiny / "ok.yaml"), "--out", str(out), "--junit", str(tiny / "ok.xml"),
                 "--summary-md", str(tiny / "ok.md"), cwd=tiny, env=env)
    assert ok.returncode == 0, ok.stderr[-3000:]
    cases = _junit(tiny / "ok.xml")
    names = {"gate[exact_match >= 0.0]", "gate[audit.leakage == 0]", "audit[leakage]",
             "compare[exact_match b]"}
    assert names <= set(cases)
    assert not [n for n, c in cases.items() if c.find("failure") is not None]
    summary = (tiny / "ok.md").read_text()
    assert "✅ PASSED" in summary and "| ✅ | audit.leakage == 0 |" in summary
    assert f"Report: [{out / 'index.html'}]" in summary.replace("\\", "")

    bad = harness("eval", str(tiny / "impossible.yaml"), "--out", str(out), "--junit", str(tiny / "bad.xml"),
                  "--summary-md", str(tiny / "bad.md"), cwd=tiny, env=env)
    assert bad.returncode == 1, bad.stderr[-3000:]
    failure = _junit(tiny / "bad.xml")["gate[exact_match >= 1.5]"].find("failure")
    assert failure is not None and "needs >= 1.5" in (failure.get("message") or "")
    md = (tiny / "bad.md").read_text()
    assert "❌ FAILED" in md and "| ❌ | exact\\_match &gt;= 1.5 |" in md and "95% CI" in md
    assert step.read_text() == summary + "\n" + md + "\n"  # both verdicts appended to the step summary
    assert f"wrote {tiny / 'bad.xml'}" in bad.stderr


def _pairs_file(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("".join(json.dumps({"instruction": p, "input": "", "output": r}) + "\n" for p, r in rows))
    return path


@pytest.mark.slow
def test_audit_semantic_flag_with_junit_and_summary(tmp_path: Path) -> None:
    fixture = json.loads((ROOT / "tests" / "fixtures" / "audit" / "alpaca_en_demo_200.json").read_text())
    rows = [(r["instruction"], r["output"]) for r in fixture if not r["input"].strip()][:40]
    train = _pairs_file(tmp_path / "train.jsonl", [*rows[:30], ("What is the capital city of France?",
                                                               "Paris is the capital of France.")])
    evals = _pairs_file(tmp_path / "eval.jsonl", [*rows[30:40], ("Tell me the name of France's capital.",
                                                                "The capital is Paris, in France.")])
    proc = harness("audit", str(train), "--eval", str(evals), "--semantic", "--out", str(tmp_path / "a"),
                   "--junit", str(tmp_path / "a.xml"), "--summary-md", str(tmp_path / "a.md"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Loading weights" not in proc.stderr and "it/s" not in proc.stderr  # MiniLM loads quietly
    audit = json.loads((tmp_path / "a" / "audit.json").read_text())
    leaks = [f for f in audit["findings"] if f["check"] == "semantic_leakage"]
    assert [f["refs"][0]["index"] for f in leaks] == [10]
    cases = _junit(tmp_path / "a.xml")
    assert "audit[semantic_leakage]" in cases and "audit[leakage]" in cases
    assert "| ✅ | audit\\[semantic\\_leakage\\] | 0 | 1 | 0 |" in (tmp_path / "a.md").read_text()
    off = harness("audit", str(train), "--semantic-threshold", "0.9", cwd=tmp_path)
    assert off.returncode == 2 and "--semantic-threshold needs --semantic" in off.stderr


def test_suite_key_audit_semantic_reaches_the_audit(tiny: Path) -> None:
    from harness.pipeline import suite_audit_params
    from harness.suite import load_suite

    raw = yaml.safe_load((tiny / "ok.yaml").read_text())
    raw["audit"] = {"semantic": True, "semantic_threshold": 0.85}
    (tiny / "semantic.yaml").write_text(yaml.safe_dump(raw))
    params = suite_audit_params(load_suite(tiny / "semantic.yaml"))
    assert params.semantic and params.semantic_threshold == 0.85
    raw["audit"] = {"semantic": "yes please"}
    (tiny / "bad.yaml").write_text(yaml.safe_dump(raw))
    proc = harness("run", str(tiny / "bad.yaml"), cwd=tiny)
    assert proc.returncode == 2 and "audit.semantic" in proc.stderr


def test_init_refuses_to_overwrite_before_any_work(tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text("mine\n")
    proc = harness("init", "--model", "no/such/model", "--train", "missing.jsonl", "--out", str(suite),
                   cwd=tmp_path)
    assert proc.returncode == 2 and suite.read_text() == "mine\n"
    assert proc.stderr.strip().splitlines() == [
        f"harness: error: {suite}: exists; harness init never overwrites (choose another --out, or move it)"]
    (tmp_path / "new-eval.jsonl").write_text("x\n")  # a split file it would write exists too
    proc = harness("init", "--model", "m", "--train", "t.jsonl", "--out", str(tmp_path / "new.yaml"),
                   cwd=tmp_path)
    assert proc.returncode == 2 and "new-eval.jsonl: exists" in proc.stderr
    assert not (tmp_path / "new.yaml").exists()


def _init_and_run(folder: Path, train: Path) -> tuple[str, dict]:  # type: ignore[type-arg]
    folder.mkdir()
    init = harness("init", "--model", str(ROOT / "suites" / "demo" / "model"), "--train", str(train),
                   "--out", "suite.yaml", cwd=folder)
    assert init.returncode == 0, init.stderr[-3000:]
    assert all(line.split(":")[0] in {"data", "model", "split", "general", "suite"}
               for line in init.stderr.splitlines() if line.strip()), init.stderr  # only its own lines
    text = (folder / "suite.yaml").read_text()
    suite = yaml.safe_load(text)
    paths = [suite["base"]["path"], *(suite["data"][k] for k in ("train", "eval", "general"))]
    assert not [p for p in paths if Path(p).is_absolute()]  # every path relative to the suite file ...
    assert all((folder / p).exists() for p in paths)  # ... and there
    run = harness("run", "suite.yaml", "--out", "out", cwd=folder)
    assert run.returncode in (0, 1), run.stderr[-3000:]  # completed: the gates decide 0 or 1
    return text, json.loads((folder / "out" / "results.json").read_text())


@pytest.mark.slow
def test_init_on_the_demo_data_writes_a_suite_that_runs(tmp_path: Path) -> None:
    text, results = _init_and_run(tmp_path / "demo", ROOT / "suites" / "demo" / "train.jsonl")
    assert "json_keys: [name, mood]" in text and "trainable_tokens: [</s>, <0x7B>, <0x7D>]" in text
    assert "This base has no chat template" in text and "held out" in text
    gates = {g["expression"]: g for g in results["gates"]}
    assert {"json_valid.delta.ci_low > 0", "json_valid >= 0.9", "audit.leakage == 0"} <= set(gates)
    assert gates["audit.leakage == 0"]["passed"] and gates["json_valid.delta.ci_low > 0"]["passed"]
    assert any(e.startswith("general_perplexity.delta < ") for e in gates)


@pytest.mark.slow
def test_init_on_a_real_alpaca_file_writes_a_suite_that_runs(tmp_path: Path) -> None:
    text, results = _init_and_run(tmp_path / "alpaca", ROOT / "tests" / "fixtures" / "audit" /
                                  "alpaca_en_demo_200.json")
    assert "metrics: [perplexity]" in text and "# judges:" in text and "rubric: pairwise" in text
    gates = {g["expression"]: g for g in results["gates"]}
    assert gates["eval_perplexity.delta.ci_high < 0"]["passed"] and gates["audit.leakage == 0"]["passed"]
