"""The pytest plugin end to end on the tiny suite: a real sweep, real scoring, JUnit XML, HTML report."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def run_pytest(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def suites(tmp_path_factory: pytest.TempPathFactory, tiny_suite_path: Path) -> Path:
    folder = tmp_path_factory.mktemp("suites")
    text = tiny_suite_path.read_text()
    for name in ("train.jsonl", "eval.jsonl", "general.jsonl"):
        text = text.replace(f": {name}", f": {tiny_suite_path.parent / name}")
    text = text.replace(
        "../../../suites/demo/model", str(tiny_suite_path.parents[3] / "suites" / "demo" / "model")
    )
    (folder / "ok.yaml").write_text(text)
    (folder / "impossible.yaml").write_text(text.replace("  - exact_match >= 0.0", "  - exact_match >= 1.5"))
    return folder


def test_suite_file_as_tests_passes_with_junit_and_report(suites: Path) -> None:
    out = suites / "out-ok"
    proc = run_pytest(
        [str(suites / "ok.yaml"), f"--harness-out={out}", f"--junitxml={out / 'junit.xml'}"], cwd=suites
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    names = [case.get("name") for case in suite.iter("testcase")]
    assert "audit[leakage]" in names and "audit[loss_mask]" in names
    assert "gate[exact_match >= 0.0]" in names and "gate[audit.leakage == 0]" in names
    assert "compare[exact_match b]" in names
    assert int(suite.get("failures", "0")) == 0
    html = (out / "index.html").read_text()
    assert "PASS: all 2 gates passed" in html


def test_impossible_gate_fails_and_the_banner_names_it(suites: Path) -> None:
    out = suites / "out-bad"
    proc = run_pytest([str(suites / "impossible.yaml"), f"--harness-out={out}"], cwd=suites)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "exact_match >= 1.5" in proc.stdout
    html = (out / "index.html").read_text()
    assert 'class="banner fail"' in html and "exact_match &gt;= 1.5" in html


def test_fixtures_expose_results(suites: Path) -> None:
    test = suites / "test_team.py"
    test.write_text(
        "def test_candidate_not_worse_on_json(harness_results):\n"
        "    c = harness_results.delta('json_valid')\n"
        "    assert c.n == 16 and c.ci_low <= c.delta <= c.ci_high\n"
        "def test_audit_ran(harness_audit):\n"
        "    assert any(c.check == 'leakage' for c in harness_audit.checks)\n"
    )
    proc = run_pytest(
        [str(test), f"--harness-suite={suites / 'ok.yaml'}", f"--harness-out={suites / 'out-fx'}"], cwd=suites
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "2 passed" in proc.stdout
