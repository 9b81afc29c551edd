"""JUnit XML from results: valid XML (parsed back), one testcase per case, failures and skips counted."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from factories import make_run

from harness.report.cases import run_cases
from harness.report.junit import write_junit


def _parse(path: Path) -> ET.Element:
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    return suite


def test_failing_run_has_failures_with_messages(tmp_path: Path) -> None:
    hostile = "\x00\x1b[31m <script>alert(1)</script> & \ud800 ]]>"
    results, _ = make_run(passed=False, text=hostile)
    path = write_junit(run_cases(results), tmp_path / "ci" / "junit.xml", suite="unit")
    suite = _parse(path)  # parses: NUL, ESC and a lone surrogate were written as escapes
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert len(cases) == 8 and suite.get("tests") == "8"
    assert suite.get("failures") == "3" and suite.get("skipped") == "1" and suite.get("errors") == "0"
    failure = cases["gate[general_perplexity.delta < 100]"].find("failure")
    assert failure is not None and "needs < 100" in (failure.get("message") or "")
    assert "<script>alert(1)</script>" in (failure.text or "") and "\\x00" in (failure.text or "")
    leak = cases["audit[leakage]"].find("failure")
    assert leak is not None and "eval row 3 leaks" in (leak.text or "")
    skipped = cases["compare[exact_match r4]"].find("skipped")
    assert skipped is not None and "not the selected candidate" in (skipped.get("message") or "")
    assert cases["compare[exact_match r8]"].find("failure") is None


def test_passing_run_has_no_failures(tmp_path: Path) -> None:
    results, _ = make_run(passed=True)
    suite = _parse(write_junit(run_cases(results, {"general_perplexity": 200}), tmp_path / "j.xml",
                               suite="unit"))
    assert suite.get("failures") == "0" and suite.get("skipped") == "1"
    passed = [c for c in suite.iter("testcase") if c.find("failure") is None and c.find("skipped") is None]
    assert len(passed) == 7
    out = next(c for c in passed if c.get("name") == "gate[exact_match >= 0.5]").find("system-out")
    assert out is not None and out.text == "passed: exact_match = 0.7 (needs >= 0.5)"
