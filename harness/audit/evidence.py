"""Bounded, JSON-serializable evidence for findings: row snippets and capped member lists.

A report shows rows side by side from ``Finding.details`` alone, so the texts
travel with the finding; they are cut to ``SNIPPET_CHARS`` and lists to a cap,
with the number left out said explicitly.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from harness.results import CheckRun, Finding, Ref, Severity, Split

SNIPPET_CHARS = 300


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def member(split: Split, index: int, text: str, **extra: Any) -> dict[str, Any]:
    return {"split": split, "index": int(index), "text": snippet(text), **extra}


def capped(key: str, items: list[Any], cap: int, total: int | None = None) -> dict[str, Any]:
    """``{key: items[:cap]}`` plus ``{key}_left_out`` when some were cut (``total``: how many there
    were, when only the first ``cap`` were made: a member's text is a file row parsed again)."""
    out: dict[str, Any] = {key: items[:cap]}
    total = len(items) if total is None else total
    if total > cap:
        out[f"{key}_left_out"] = total - cap
    return out


def cap_findings(findings: list[Finding], cap: int, check: str, severity: Severity,
                 what: str) -> list[Finding]:
    """At most ``cap`` per-row findings; the rest become one finding that lists their refs."""
    if len(findings) <= cap:
        return findings
    rest = findings[cap:]
    refs: list[Ref] = [r for f in rest for r in f.refs]
    summary = Finding(check=check, severity=severity,
                      message=f"{len(rest)} more rows {what} (details left out; cap {cap})",
                      refs=refs, details={"left_out": len(rest), "cap": cap})
    return [*findings[:cap], summary]


class CheckTimer:
    """Collects a :class:`CheckRun` per check, with its wall time."""

    def __init__(self) -> None:
        self.runs: list[CheckRun] = []
        self.findings: list[Finding] = []
        self.extra_summary: dict[str, Any] = {}  # merged into the result's summary (e.g. "templates")

    @contextmanager
    def check(self, name: str, params: dict[str, Any]) -> Iterator[list[Finding]]:
        """Yield a list to fill with findings; on exit record the run (params may be updated)."""
        found: list[Finding] = []
        start = time.perf_counter()
        yield found
        self.runs.append(CheckRun(check=name, params=params, findings=len(found),
                                  seconds=round(time.perf_counter() - start, 4)))
        self.findings.extend(found)

    def skipped(self, name: str, reason: str, params: dict[str, Any] | None = None) -> None:
        self.runs.append(CheckRun(check=name, params={"skipped": reason, **(params or {})}))
