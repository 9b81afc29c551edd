"""The built-in per-row checks (each registered by its ``@audit_check``), in the order the audit runs them."""

from __future__ import annotations

from harness.audit.checks import declare_builtin
from harness.audit.defects.characters import control_characters, literal_escapes, mojibake
from harness.audit.defects.cutoff import cut_off_response
from harness.audit.defects.placeholders import inconsistent_markers, placeholder_input, placeholder_output
from harness.audit.defects.refusals import refusal
from harness.audit.defects.repetition import repetition
from harness.audit.defects.targets import empty_target, format_outlier, length_outlier, short_target
from harness.audit.defects.tasks import dangling_input, non_text_task

BUILTIN = (empty_target, short_target, length_outlier, format_outlier, placeholder_input, placeholder_output,
           inconsistent_markers, non_text_task, dangling_input, repetition, cut_off_response, refusal,
           control_characters, literal_escapes, mojibake)

declare_builtin(BUILTIN)
