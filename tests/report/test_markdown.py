"""The Markdown summary: gates, deltas, regressed items, links; data rendered inert by a real renderer."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from factories import make_run
from markdown_it import MarkdownIt

from harness.report.markdown import audit_summary, md_text, run_summary, write_summary

HOSTILE = ("a | b `tick` <script>alert(1)</script> [x](javascript:alert(1)) ![i](javascript:alert(2)) "
           "<img src=x onerror=alert(3)> <javascript:alert(4)>\nsecond *line* _u_ # h ---")


class _Html(HTMLParser):
    """Tags with their attributes, and per table row the number of cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[int] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self.rows.append(0)
        elif tag in ("td", "th"):
            self.rows[-1] += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def render(markdown: str) -> _Html:
    """CommonMark with GFM tables and raw HTML allowed (as GitHub renders a step summary)."""
    page = _Html()
    page.feed(MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown))
    return page


def assert_inert(page: _Html) -> None:
    allowed = {"h2", "h3", "p", "strong", "table", "thead", "tbody", "tr", "th", "td", "br", "a", "ul", "li"}
    assert {t for t, _ in page.tags} <= allowed
    for tag, attrs in page.tags:
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        assert "javascript" not in (attrs.get("href") or "") and "javascript" not in (attrs.get("src") or "")


def test_hostile_text_renders_inert_in_tables(tmp_path: Path) -> None:
    results, items = make_run(passed=False, text=HOSTILE)
    md = run_summary(results, items, report="reports/unit/index.html")
    page = render(md)
    assert_inert(page)
    assert not [t for t, _ in page.tags if t in ("script", "img", "code", "em", "h1")]
    widths = {n for n in page.rows}
    assert widths == {4, 9, 5}, page.rows  # gates, deltas, regressed items: no cell split by a '|'
    text = "".join(page.text)
    assert "<script>alert(1)</script>" in text and "[x](javascript:alert(1))" in text  # shown, as text
    links = [a.get("href") for t, a in page.tags if t == "a"]
    assert links == ["reports/unit/index.html"]


def test_run_summary_lists_gates_deltas_and_regressed_items() -> None:
    results, items = make_run(passed=False)
    md = run_summary(results, items, report="index.html")
    assert md.startswith("## finetune-harness: unit ❌ FAILED")
    gate = "| ❌ | general\\_perplexity.delta &lt; 100 | 120 | failed: 120 (needs &lt; 100) plain text |"
    assert gate in md
    assert "| exact\\_match | 0.2 | 0.7 | +0.5 | [+0.3, +0.7] | 0.001 | 2 | 2 | 10 |" in md
    assert "| general\\_perplexity | 5 | 90 | +85🔻 |" in md  # lower is better, worse with confidence
    assert "r4" not in md  # only the selected candidate's deltas
    assert "### Regressed on exact\\_match (2 of 2)" in md
    assert ("| eval/1 | prompt 1 plain text | ref 1 plain text | base says 1 plain text "
            "| r8 says 1 plain text |") in md
    assert "**Audit**: 1 errors, 1 warnings, 0 notes; failing checks: audit\\[leakage\\]" in md
    assert md.rstrip().endswith("Report: [index.html](<index.html>)")
    passed, _ = make_run(passed=True)
    assert "✅ PASSED" in run_summary(passed, [])


def test_audit_summary_and_actions_links(monkeypatch: pytest.MonkeyPatch) -> None:
    results, _ = make_run(passed=False, text=HOSTILE)
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "me/repo")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    assert results.audit is not None
    md = audit_summary(results.audit, title="train.jsonl", report="reports/audit/audit.html")
    page = render(md)
    assert_inert(page)
    assert "❌ FAILED" in md and "| ❌ | audit\\[leakage\\] | 1 | 0 | 0 |" in md
    assert "contamination" not in md  # no findings: not listed
    links = [a.get("href") for t, a in page.tags if t == "a"]
    assert links == ["reports/audit/audit.html", "https://github.com/me/repo/actions/runs/42"]


def test_write_summary_appends_to_the_step_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    step = tmp_path / "step.md"
    step.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    written = write_summary("## verdict\n", tmp_path / "out" / "summary.md")
    assert written == [tmp_path / "out" / "summary.md", step]
    assert step.read_text() == "earlier step\n## verdict\n\n"
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    assert write_summary("x", None) == []


def test_md_text_escapes_and_cuts() -> None:
    assert md_text("a|b") == "a\\|b" and md_text("x.y-z (1)") == "x.y-z (1)"
    assert md_text("<b>&") == "&lt;b&gt;&amp;"
    assert md_text("one\r\ntwo") == "one<br>two"
    assert md_text("x" * 10, 5) == "xxxx…"
