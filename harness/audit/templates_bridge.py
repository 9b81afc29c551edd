"""Calls the chat-template audit (``harness.audit.templates``) when a tokenizer is given.

The import happens here, at call time, so the rest of the audit works whether
or not that module is installed; when it is missing the run says so in a
``templates`` CheckRun instead of failing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from harness.audit.evidence import CheckTimer
from harness.audit.params import AuditParams
from harness.data.record import Record
from harness.progress import Steps
from harness.results import CheckRun

CHECK = "templates"


def run_template_audit(timer: CheckTimer, tokenizer: Any, train: Sequence[Record], params: AuditParams,
                       steps: Steps) -> dict[str, Any] | None:
    """Merge the template audit's findings and checks into ``timer``; returns its summary."""
    if tokenizer is None:
        timer.skipped(CHECK, "no tokenizer given")
        return None
    try:
        from harness.audit.templates import audit_templates
    except ImportError as exc:
        timer.skipped(CHECK, f"harness.audit.templates is not available ({exc})")
        return None
    start = time.perf_counter()
    result = audit_templates(tokenizer, train, split="train", max_seq_len=params.max_seq_len,
                             show=params.show_examples)
    timer.findings.extend(result.findings)
    runs = list(result.checks) or [CheckRun(check=CHECK, findings=len(result.findings))]
    timer.runs.extend(runs)
    # Per split, as the report reads it (summary["templates"]["train"]["examples"]).
    timer.extra_summary[CHECK] = {"train": {**dict(result.summary),
                                            "seconds": round(time.perf_counter() - start, 3)}}
    steps.done("chat template audit")
    return dict(result.summary)
