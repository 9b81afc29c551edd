"""A compact Markdown verdict for a pull request (``--summary-md FILE``), read from results only.

For a run: the verdict, the gates with their observed values, the selected
candidate's deltas against the base with confidence intervals, the items that
regressed most on the primary metric with both outputs, the audit's counts,
and a link to the HTML report. For an audit alone: the verdict, the checks
with findings and the first error findings. :func:`write_summary` writes it and
appends it to ``$GITHUB_STEP_SUMMARY`` when GitHub Actions sets that variable.

Everything that came from data, a model or a suite is escaped with
:func:`md_text`: HTML metacharacters become entities and the characters of
inline Markdown are backslash-escaped, so no text can open a tag, a link, an
image, a code span, emphasis or a table cell; newlines become ``<br>``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from harness.io import atomic_write_text
from harness.report.cases import audit_cases
from harness.report.views import item_rows
from harness.results import AuditResult, Comparison, ItemScore, RunResults

# Inline Markdown needs these (GitHub adds ~ strikethrough, $ math, @ mentions, # references); line-start
# syntax (headings, lists, quotes) cannot occur: a text never starts a line here (newlines become <br>).
_PUNCT = "\\`*_[]|~$@#!"
_ESCAPES = {ord(c): "\\" + c for c in _PUNCT} | {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"}
CELL_CHARS = 160
MARK = {"pass": "✅", "fail": "❌", "skip": "⏭️"}


def md_text(text: object, limit: int | None = None) -> str:
    """``text`` as inert Markdown on one line (cut to ``limit`` characters first, with an ellipsis)."""
    s = str(text)
    if limit is not None and len(s) > limit:
        s = s[: limit - 1] + "…"
    lines = s.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "<br>".join(line.translate(_ESCAPES) for line in lines)


def _num(x: float | None, spec: str = "{:.4g}") -> str:
    return "–" if x is None else spec.format(x)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def _link(label: str, target: str) -> str:
    """A link to a path or URL we made (not data): angle brackets keep spaces and parentheses in it."""
    safe = target.replace("<", "%3C").replace(">", "%3E").replace("\n", "")
    return f"[{md_text(label)}](<{safe}>)"


def _gate_rows(results: RunResults) -> list[list[str]]:
    return [[MARK["pass" if g.passed else "fail"], md_text(g.expression), _num(g.observed),
             md_text(g.message, CELL_CHARS * 2)] for g in results.gates]


def _delta_rows(comps: Sequence[Comparison]) -> list[list[str]]:
    rows = []
    for c in comps:
        worse = c.delta != 0 and (c.delta > 0) != c.higher_is_better
        arrow = "🔻" if worse and (c.ci_high < 0 or c.ci_low > 0) else ""
        rows.append([md_text(c.metric), _num(c.base_value), _num(c.candidate_value), f"{c.delta:+.4g}{arrow}",
                     f"[{c.ci_low:+.4g}, {c.ci_high:+.4g}]", _num(c.p_value, "{:.3g}"),
                     str(len(c.regressed)), str(len(c.improved)), str(c.n)])
    return rows


def _regressed(results: RunResults, items: Sequence[ItemScore], primary: str, top: int) -> list[str]:
    comp = next((c for c in results.comparisons if c.metric == primary and c.candidate == results.candidate),
                None)
    if comp is None or not comp.regressed or not items:
        return []
    rows = [r for r in item_rows(items, results.candidate, primary, set(comp.regressed), set(comp.improved))
            if r.status == "regressed"][:top]
    out = ["", f"### Regressed on {md_text(primary)} ({len(rows)} of {len(comp.regressed)})", ""]
    out += _table(["item", "prompt", "reference", "base", md_text(results.candidate)],
                  [[md_text(r.item_id), md_text(r.prompt, CELL_CHARS), md_text(r.reference, CELL_CHARS),
                    md_text(r.base, CELL_CHARS), md_text(r.candidate, CELL_CHARS)] for r in rows])
    return out


def _audit_line(audit: AuditResult | None) -> list[str]:
    if audit is None:
        return []
    failed = [c.name for c in audit_cases(audit) if c.outcome == "fail"]
    tail = f"; failing checks: {md_text(', '.join(failed))}" if failed else ""
    return ["", f"**Audit**: {audit.count('error')} errors, {audit.count('warning')} warnings, "
                f"{audit.count('info')} notes{tail}"]


def run_summary(results: RunResults, items: Sequence[ItemScore] = (), *, report: str | None = None,
                primary: str | None = None, top: int = 5) -> str:
    """The Markdown verdict of a run (``report``: where index.html is, shown as a link)."""
    primary = primary or str(results.meta.get("primary_metric", "exact_match"))
    verdict = "✅ PASSED" if results.passed else "❌ FAILED"
    failed = sum(not g.passed for g in results.gates)
    lines = [f"## finetune-harness: {md_text(results.suite)} {verdict}", "",
             f"candidate **{md_text(results.candidate or 'none')}**; {len(results.gates) - failed} of "
             f"{len(results.gates)} gates passed"]
    if results.gates:
        lines += ["", *_table(["", "gate", "observed", "message"], _gate_rows(results))]
    comps = [c for c in results.comparisons if c.candidate == results.candidate]
    if comps:
        lines += ["", f"### {md_text(results.candidate)} against the base", ""]
        lines += _table(["metric", "base", "candidate", "delta", "95% CI", "p", "regressed", "improved", "n"],
                        _delta_rows(comps))
    lines += _regressed(results, items, primary, top)
    lines += _audit_line(results.audit)
    lines += _links(report)
    return "\n".join(lines) + "\n"


def audit_summary(audit: AuditResult, *, title: str, report: str | None = None, top: int = 10) -> str:
    """The Markdown verdict of ``harness audit``: checks with findings, then the first error findings."""
    verdict = "❌ FAILED" if audit.has_errors else "✅ PASSED"
    lines = [f"## finetune-harness audit: {md_text(title)} {verdict}", "",
             f"{audit.count('error')} errors, {audit.count('warning')} warnings, {audit.count('info')} notes "
             f"from {len(audit.checks)} checks"]
    rows = [[MARK[c.outcome], md_text(c.name), str(audit.count("error", check)),
             str(audit.count("warning", check)), str(audit.count("info", check))]
            for check, c in zip((r.check for r in audit.checks), audit_cases(audit), strict=True)
            if audit.count(check=check)]
    if rows:
        lines += ["", *_table(["", "check", "errors", "warnings", "notes"], rows)]
    errors = [f for f in audit.findings if f.severity == "error"][:top]
    if errors:
        lines += ["", "### First error findings", ""]
        lines += [f"- {md_text(f.check)}: {md_text(f.message, CELL_CHARS * 2)}" for f in errors]
    lines += _links(report)
    return "\n".join(lines) + "\n"


def _links(report: str | None) -> list[str]:
    out = []
    if report:
        out += ["", f"Report: {_link(report, report)}"]
    run_url = _actions_run_url()
    if run_url:
        out += ["", f"Artifacts: {_link('this workflow run', run_url)}"]
    return out


def _actions_run_url() -> str | None:
    """The GitHub Actions run page (where uploaded reports are), when running there."""
    parts = [os.environ.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    if not all(parts) or not parts[0].startswith("https://"):
        return None
    return f"{parts[0]}/{parts[1]}/actions/runs/{parts[2]}"


def write_summary(text: str, path: Path | None) -> list[Path]:
    """Write ``text`` to ``path`` (when given) and append it to ``$GITHUB_STEP_SUMMARY`` (when set)."""
    written = []
    if path is not None:
        atomic_write_text(Path(path), text)
        written.append(Path(path))
    step = os.environ.get("GITHUB_STEP_SUMMARY")
    if step:
        with open(step, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
        written.append(Path(step))
    return written


__all__ = ["audit_summary", "md_text", "run_summary", "write_summary"]
