"""A run's verdicts as named test cases: one per audit check, per gate, per comparison.

The names are the pytest plugin's item names (``audit[<check>]``,
``gate[<expression>]``, ``compare[<metric> <candidate>]``), and the outcomes are
its verdicts: an audit check fails on error findings, a gate fails when it did
not pass, a comparison passes, fails or is skipped as
:func:`harness.gate.comparison_outcome` says. The plugin, the JUnit XML and the
Markdown summary all list these, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from harness.gate import comparison_outcome
from harness.results import AuditResult, RunResults

Outcome = Literal["pass", "fail", "skip"]
Kind = Literal["audit", "gate", "compare"]
_OUTCOMES: dict[str, Outcome] = {"pass": "pass", "fail": "fail", "skip": "skip"}


@dataclass(frozen=True)
class Case:
    """One verdict: ``message`` says why it failed or was skipped; ``detail`` what was observed."""

    name: str
    kind: Kind
    outcome: Outcome
    message: str = ""
    detail: str = ""


def audit_cases(audit: AuditResult) -> list[Case]:
    """One case per check that ran (or said why it did not): failed when it has error findings."""
    out = []
    for check in audit.checks:
        errors = [f for f in audit.findings if f.check == check.check and f.severity == "error"]
        warnings = audit.count("warning", check.check)
        detail = str(check.params.get("skipped", "")) or f"{check.findings} findings ({warnings} warnings)"
        if errors:
            lines = "\n".join(f"  - {f.message}" for f in errors[:10])
            more = f"\n  ... and {len(errors) - 10} more" if len(errors) > 10 else ""
            message = f"audit check {check.check}: {len(errors)} error findings\n{lines}{more}"
            out.append(Case(f"audit[{check.check}]", "audit", "fail", message, detail))
        else:
            out.append(Case(f"audit[{check.check}]", "audit", "pass", "", detail))
    return out


def run_cases(results: RunResults, tolerance: Mapping[str, float] | None = None) -> list[Case]:
    """The audit's cases, then every gate, then every comparison (``tolerance``: score.tolerance)."""
    tolerance = tolerance or {}
    out = audit_cases(results.audit) if results.audit is not None else []
    for g in results.gates:
        if g.passed:
            out.append(Case(f"gate[{g.expression}]", "gate", "pass", "", g.message))
        else:
            out.append(Case(f"gate[{g.expression}]", "gate", "fail", f"gate {g.expression!r}: {g.message}",
                            g.message))
    for c in results.comparisons:
        outcome, why = comparison_outcome(results, c, tolerance.get(c.metric.split("/")[0], 0.0))
        detail = f"delta {c.delta:+.4g} (CI {c.ci_low:+.4g}..{c.ci_high:+.4g}), n={c.n}"
        out.append(Case(f"compare[{c.metric} {c.candidate}]", "compare", _OUTCOMES[outcome], why, detail))
    return out


__all__ = ["Case", "Outcome", "audit_cases", "run_cases"]
