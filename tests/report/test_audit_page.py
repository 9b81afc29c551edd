"""audit.html from a real audit: every check with its parameters, every finding with its rows side by side,
everything from the data escaped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from markupsafe import escape

from harness.audit import AuditParams, run_audit
from harness.data.record import ASSISTANT, USER, Record, Turn
from harness.report import render_audit
from harness.results import AuditResult
from harness.testing.html_tables import tables

ALPACA = Path(__file__).resolve().parents[1] / "fixtures" / "audit" / "alpaca_en_demo_200.json"
SCRIPT = "<script>alert('x')</script> "


def record(i: int, prompt: str, response: str) -> Record:
    turns = (Turn(USER, prompt), Turn(ASSISTANT, response))
    return Record(turns=turns, index=i, source="memory", format="alpaca")


@pytest.fixture(scope="module")
def audit() -> AuditResult:
    rows = json.loads(ALPACA.read_text(encoding="utf-8"))
    pairs = [(r["instruction"] + ("\n\n" + r["input"] if r["input"].strip() else ""), r["output"])
             for r in rows[:25]]
    train = pairs[:20] + [(SCRIPT + pairs[0][0], pairs[0][1])] * 2 + [(pairs[1][0], "")]
    return run_audit([record(i, p, r) for i, (p, r) in enumerate(train)],
                     [record(i, p, r) for i, (p, r) in enumerate(pairs[20:])],
                     params=AuditParams(workers=1), progress=False)


@pytest.fixture(scope="module")
def page(audit: AuditResult, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = render_audit(audit, tmp_path_factory.mktemp("audit") / "audit.html", title="<b>my</b> audit")
    return path.read_text(encoding="utf-8")


def test_data_is_escaped(page: str) -> None:
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert "<b>my</b>" not in page and "&lt;b&gt;my&lt;/b&gt; audit" in page


def test_every_check_is_listed_with_its_parameters(audit: AuditResult, page: str) -> None:
    head, *rows = tables(page)[0]
    assert head == ["check", "findings", "seconds", "parameters"]
    assert [r[0] for r in rows] == [c.check for c in audit.checks]
    for r, c in zip(rows, audit.checks, strict=True):
        assert int(r[1]) == c.findings and json.loads(r[3]) == json.loads(json.dumps(c.params))


def test_every_finding_is_shown_with_its_rows_side_by_side(audit: AuditResult, page: str) -> None:
    for f in audit.findings:
        assert str(escape(f.message)) in page
    findings = tables(page)[1][1:]
    assert len(findings) == len(audit.findings)
    dup = next(f for f in audit.findings if f.check == "exact_duplicates")
    shown = next(r for r in findings if r[1] == "exact_duplicates")
    assert [(ref.split, ref.index) for ref in dup.refs] == [("train", 20), ("train", 21)]
    assert "train#20" in shown[4] and "train#21" in shown[4]  # both rows, in one cell
    assert shown[4].count("<script>alert('x')</script>") == 2  # their text, decoded from the escaped page
    empty = next(r for r in findings if r[1] == "empty_target")
    assert empty[0] == "error" and "train#22" in empty[3]
