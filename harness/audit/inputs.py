"""Inputs that are valid but suspicious: warnings, never errors.

A dataset of a handful of rows, or an eval set larger than the train set, is
usually a wrong file or a swapped argument; the run goes on, and the audit says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.audit.evidence import CheckTimer
from harness.data.record import Record
from harness.results import Finding, Ref

MIN_ROWS = 10


def check_inputs(timer: CheckTimer, train: Sequence[Record], eval: Sequence[Record] | None) -> None:
    params = {"min_rows": MIN_ROWS, "train_rows": len(train), "eval_rows": len(eval) if eval else 0}
    with timer.check("input_size", params) as found:
        for split, rows in (("train", train), ("eval", eval or [])):
            if rows and len(rows) < MIN_ROWS:
                found.append(
                    Finding(
                        check="input_size",
                        severity="warning",
                        message=f"the {split} set has only {len(rows)} rows",
                        refs=[Ref(split=split, index=r.index) for r in rows],
                        details={"rows": len(rows), "file": rows[0].source},
                    )
                )
        if eval and len(eval) > len(train):
            found.append(
                Finding(
                    check="input_size",
                    severity="warning",
                    message=f"the eval set ({len(eval)} rows) is larger than the train set "
                    f"({len(train)} rows): were the files swapped?",
                    details={"train_rows": len(train), "eval_rows": len(eval)},
                )
            )
