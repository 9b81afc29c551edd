"""Every check name an audit can report: what an ``audit.<check>`` gate may read.

The set-level checks name themselves in their own modules; the per-row checks
are the registry's (built-ins, entry points, and the suite's ``audit.checks``).
A gate on a name outside this list is refused at suite load, not after training.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from harness.audit import (
    contamination,
    duplicates,
    export_parity,
    leakage,
    near_duplicates,
    semantic,
    serving_template,
    template_findings,
    template_parity,
    templates_bridge,
)
from harness.audit.checks import known_names, resolve

COUNTS = ("errors", "warnings", "infos", "findings")  # totals over every check
SET_CHECKS: tuple[str, ...] = (
    duplicates.CHECK, near_duplicates.CHECK, leakage.CHECK, contamination.CHECK, *semantic.CHECKS,
    templates_bridge.CHECK, *template_findings.CHECKS, *template_parity.CHECKS, *export_parity.CHECKS,
    serving_template.CHECK, "input_size", "judge_review",
)


def check_names(refs: Iterable[str] = (), folder: Path | None = None) -> list[str]:
    """Every check an audit with these extra per-row checks (names or ``module:function``) can report."""
    named = [resolve(ref, folder).name for ref in refs if ":" in ref]
    return list(dict.fromkeys([*SET_CHECKS, *known_names(), *named]))


def gate_fields(refs: Iterable[str] = (), folder: Path | None = None) -> list[str]:
    """What ``audit.<field>`` may read: the totals, then every check name."""
    return [*COUNTS, *check_names(refs, folder)]
