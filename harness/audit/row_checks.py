"""Run the registered per-row checks on every split and turn their hits into findings.

Each check runs once per split with its effective params (defaults, then the
audit's ``check_params`` for it); the run is recorded with those params plus
any statistics the check returned, per split. Checks that judge each row alone
(``scope="row"``) ran in the scan workers already (:func:`chunked_checks`,
:mod:`harness.audit.chunk_checks`); their hits are only turned into findings
here. So did the row phase of a set check that has one: its hits are handed
to the set function's rows (``Rows.row_phase``). A hit becomes one finding
(``"<split> row <index>: <message>"``, the row's response and prompt as
``members``, the field in ``details["field"]``); beyond
``max_findings_per_check`` per split the rest are grouped into one finding
that lists their refs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from harness.audit.checks import AuditCheck, selected
from harness.audit.chunk_checks import call
from harness.audit.evidence import CheckTimer, member, snippet
from harness.audit.params import AuditParams
from harness.audit.rows import Hit, Rows
from harness.audit.splits import SplitData
from harness.errors import HarnessError
from harness.results import Finding, Ref

__all__ = ["call", "chunked_checks", "findings", "run_row_checks", "views"]


def views(splits: Sequence[SplitData], tokenizer: Any = None) -> list[Rows]:
    return [Rows(d.split, d.records, prompts=d.texts["prompt"], responses=d.texts["response"],
                 scans=d.scans, tokenizer=tokenizer) for d in splits]


def chunked_checks(params: AuditParams) -> tuple[tuple[AuditCheck, dict[str, Any]], ...]:
    """The selected checks the scan workers run chunk by chunk, with their effective params: the
    row-scope checks, and the row phase of the set checks that have one (under the set check's name)."""
    out = []
    for c in selected(params.checks):
        values = c.effective(params.check_params.get(c.name))
        if c.scope == "row":
            out.append((c, values))
        elif c.row_phase is not None:
            out.append((replace(c, fn=c.row_phase, scope="row", row_phase=None), values))
    return tuple(out)


def run_row_checks(timer: CheckTimer, splits: Sequence[SplitData], params: AuditParams,
                   tokenizer: Any = None) -> None:
    """Every selected check (built-ins, then ``params.checks``) on every split."""
    rows = views(splits, tokenizer)
    for check in selected(params.checks):
        if not params.runs([check.name]):
            continue
        values = check.effective(params.check_params.get(check.name))
        info: dict[str, Any] = dict(values)
        with timer.check(check.name, info) as found:
            for data, view in zip(splits, rows, strict=True):
                done = data.checks.get(check.name)
                if done is not None and check.scope == "row":
                    hits, stats = done.hits, done.merged_stats
                else:
                    if done is not None and check.row_phase is not None:  # the scan ran the row phase
                        view.put_row_phase(check.row_phase, done.hits)
                    hits, stats = call(check, view, values)
                found += findings(check, view, hits, params.max_findings_per_check)
                if stats:
                    info[view.split] = dict(stats)


def findings(check: AuditCheck, rows: Rows, hits: Sequence[Hit | Finding], cap: int) -> list[Finding]:
    """One finding per hit (capped), findings passed through under the check's name.

    Beyond ``cap`` only the refs are made (:func:`harness.audit.evidence.cap_findings` groups
    those rows into one finding), not findings with texts that would be dropped.
    """
    out: list[Finding] = []
    rest: list[Ref] = []
    for hit in hits:
        if isinstance(hit, Finding):
            if len(out) >= cap:
                rest += hit.refs
                continue
            out.append(hit if hit.check == check.name else hit.model_copy(update={"check": check.name}))
            continue
        if not 0 <= int(hit.pos) < len(rows):
            raise HarnessError(f"audit check {check.name!r} flagged position {hit.pos}, "
                               f"outside the {rows.split} split's {len(rows)} rows")
        pos = int(hit.pos)
        if len(out) >= cap:
            rest.append(rows.ref(pos))
            continue
        index = rows.index(pos)
        out.append(Finding(
            check=check.name, severity=check.severity, message=f"{rows.split} row {index}: {hit.message}",
            refs=[rows.ref(pos)],
            details={"members": [member(rows.split, index, rows.responses[pos],
                                        prompt=snippet(rows.prompts[pos]))],
                     "field": hit.field, **hit.details}))
    left_out = sum(1 for h in hits) - len(out)
    if not left_out:
        return out
    return [*out, Finding(check=check.name, severity=check.severity,
                          message=f"{left_out} more rows {check.flagged_as} (details left out; cap {cap})",
                          refs=rest, details={"left_out": left_out, "cap": cap})]
