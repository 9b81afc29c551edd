"""Run the registered per-row checks on every split and turn their hits into findings.

Each check runs once per split with its effective params (defaults, then the
audit's ``check_params`` for it); the run is recorded with those params plus
any statistics the check returned, per split. A hit becomes one finding
(``"<split> row <index>: <message>"``, the row's response and prompt as
``members``, the field in ``details["field"]``); beyond
``max_findings_per_check`` per split the rest are grouped into one finding
that lists their refs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.audit.checks import AuditCheck, CheckReturn, selected
from harness.audit.evidence import CheckTimer, cap_findings, member, snippet
from harness.audit.params import AuditParams
from harness.audit.rows import CheckOutput, Hit, Rows
from harness.audit.splits import SplitData
from harness.errors import HarnessError
from harness.results import Finding


def views(splits: Sequence[SplitData], tokenizer: Any = None) -> list[Rows]:
    return [Rows(d.split, d.records, prompts=d.texts["prompt"], responses=d.texts["response"],
                 scans=d.scans, tokenizer=tokenizer) for d in splits]


def run_row_checks(timer: CheckTimer, splits: Sequence[SplitData], params: AuditParams,
                   tokenizer: Any = None) -> None:
    """Every selected check (built-ins, then ``params.checks``) on every split."""
    rows = views(splits, tokenizer)
    for check in selected(params.checks):
        values = check.effective(params.check_params.get(check.name))
        info: dict[str, Any] = dict(values)
        with timer.check(check.name, info) as found:
            for view in rows:
                hits, stats = _call(check, view, values)
                found += findings(check, view, hits, params.max_findings_per_check)
                if stats:
                    info[view.split] = dict(stats)


def _call(check: AuditCheck, rows: Rows, values: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    try:
        out: CheckReturn = check.fn(rows, values)
        if isinstance(out, CheckOutput):
            return list(out.hits), dict(out.stats)
        return list(out), {}
    except HarnessError:
        raise
    except Exception as exc:  # a user's check failing is an error naming it, not a crash of the audit
        raise HarnessError(f"audit check {check.name!r} failed on the {rows.split} split: "
                           f"{type(exc).__name__}: {exc}") from exc


def findings(check: AuditCheck, rows: Rows, hits: Sequence[Hit | Finding], cap: int) -> list[Finding]:
    """One finding per hit (capped), findings passed through under the check's name."""
    out = []
    for hit in hits:
        if isinstance(hit, Finding):
            out.append(hit if hit.check == check.name else hit.model_copy(update={"check": check.name}))
            continue
        if not 0 <= int(hit.pos) < len(rows):
            raise HarnessError(f"audit check {check.name!r} flagged position {hit.pos}, "
                               f"outside the {rows.split} split's {len(rows)} rows")
        pos = int(hit.pos)
        index = rows.index(pos)
        out.append(Finding(
            check=check.name, severity=check.severity, message=f"{rows.split} row {index}: {hit.message}",
            refs=[rows.ref(pos)],
            details={"members": [member(rows.split, index, rows.responses[pos],
                                        prompt=snippet(rows.prompts[pos]))],
                     "field": hit.field, **hit.details}))
    return cap_findings(out, cap, check.name, check.severity, check.flagged_as)
