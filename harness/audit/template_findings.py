"""Findings of the template audit: one per (check, record), with the offending text in ``details``.

Severities (see :mod:`harness.audit.templates` for what each check means):

=========================  ========  =============================================================
check                      severity  why
=========================  ========  =============================================================
template_render            error     the template raised: training skips the record
                           warning   the template silently dropped a user/assistant turn
loss_mask                  error     no loss at all, loss on prompt tokens, or response unlearned
double_bos                 error     extra BOS tokens corrupt the sequence start
truncation_prompt          error     the prompt alone fills max_seq_len: nothing is trained
own_special_tokens         error     the target's control token inside content (tokenizes as one)
                           warning   the target template's marker that tokenizes as text
everything else            warning   the record trains, but not the way it should
no_chat_template           warning   once, when the tokenizer has no template (plain fallback)
=========================  ========  =============================================================
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from harness.data.record import Record
from harness.results import CheckRun, Finding, Ref, Severity, Split

CHECKS: tuple[str, ...] = (
    "no_chat_template", "template_render", "unknown_role", "role_order", "missing_final_assistant",
    "empty_assistant", "system_unsupported", "foreign_control_tokens", "own_special_tokens",
    "prerendered", "echoed_system_prompt", "double_bos", "missing_eos", "truncation_prompt",
    "truncation_response", "loss_mask",
)

_ERRORS = frozenset({"template_render", "loss_mask", "double_bos", "truncation_prompt", "own_special_tokens"})
SEVERITY: dict[str, Severity] = {check: "error" if check in _ERRORS else "warning" for check in CHECKS}

TEXT_LIMIT = 200


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def excerpt(text: str, start: int, end: int, limit: int = TEXT_LIMIT) -> str:
    """The text around ``text[start:end]``, starting a little before it."""
    lo = max(0, start - 40)
    piece = text[lo : max(end, lo + limit)]
    return ("…" if lo else "") + clip(piece, limit)


class FindingLog:
    """Collects findings per check and the time spent per check."""

    def __init__(self, split: str) -> None:
        self.split: Split = split  # type: ignore[assignment]  # validated by Ref
        self.by_check: dict[str, list[Finding]] = {c: [] for c in CHECKS}
        self.seconds: dict[str, float] = dict.fromkeys(CHECKS, 0.0)
        self.params: dict[str, dict[str, Any]] = {c: {} for c in CHECKS}

    def add(self, check: str, record: Record | None, message: str, text: str = "",
            severity: Severity | None = None, **details: Any) -> None:
        refs = [Ref(split=self.split, index=record.index)] if record is not None else []
        info = {"text": clip(text), **details} if text else dict(details)
        self.by_check[check].append(Finding(check=check, severity=severity or SEVERITY[check],
                                            message=message, refs=refs, details=info))

    @contextmanager
    def timed(self, checks: Sequence[str]) -> Iterator[None]:
        """Time a pass; checks computed in the same pass share its time equally."""
        start = time.perf_counter()
        try:
            yield
        finally:
            share = (time.perf_counter() - start) / max(1, len(checks))
            for check in checks:
                self.seconds[check] += share

    def findings(self) -> list[Finding]:
        return [f for check in CHECKS for f in self.by_check[check]]

    def check_runs(self) -> list[CheckRun]:
        return [CheckRun(check=c, params=self.params[c], findings=len(self.by_check[c]),
                         seconds=round(self.seconds[c], 6)) for c in CHECKS]
