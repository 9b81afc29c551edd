"""A set check's row phase: run by the scan chunk by chunk, read by the set function, the same as inline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from harness.audit import AuditParams, Hit, Rows, audit_check, run_audit, scan
from harness.audit.checks import resolve
from harness.data.record import Record
from harness.results import Finding

CALLS: list[int] = []  # rows each call of the row phase was given


def _long_rows(rows: Rows, params: Mapping[str, Any]) -> list[Hit]:
    CALLS.append(len(rows))
    return [Hit(p, "", details={"chars": len(t)}) for p, t in enumerate(rows.responses)
            if len(t) > params["chars"]]


@audit_check("longest_tenth", scope="set", row_phase=_long_rows, params={"chars": 200})
def longest_tenth(rows: Rows, params: Mapping[str, Any]) -> list[Hit]:
    """Of the long responses, the longest tenth (a set decision over the row phase's hits)."""
    long = sorted(rows.row_phase(_long_rows, params), key=lambda h: -h.details["chars"])
    return [Hit(h.pos, f"{h.details['chars']} chars") for h in long[: max(1, len(long) // 10)]]


def _flagged(findings: list[Finding], check: str) -> set[int]:
    return {r.index for f in findings if f.check == check for r in f.refs}


def test_the_scan_runs_the_row_phase_and_the_set_function_reads_it(original: list[Record],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "CHUNK_ROWS", 500)
    CALLS.clear()
    params = AuditParams(workers=1, checks=("longest_tenth",))
    result = run_audit(original, params=params, progress=False)
    assert CALLS == [500] * 4  # by the scan's chunks, once over every row; not again after
    direct = longest_tenth(Rows("train", original), {"chars": 200})  # on its own it computes the phase
    assert _flagged(result.findings, "longest_tenth") == {original[h.pos].index for h in direct} != set()


def test_cut_off_through_the_scan_equals_the_check_on_all_rows(original: list[Record]) -> None:
    result = run_audit(original, params=AuditParams(workers=1), progress=False)
    direct = resolve("cut_off_response")(Rows("train", original))
    expected = {original[h.pos].index for h in direct}
    assert _flagged(result.findings, "cut_off_response") == expected and len(expected) >= 3
