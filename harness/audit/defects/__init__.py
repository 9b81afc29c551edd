"""The built-in per-row checks, registered with :func:`harness.audit.checks.register` in run order."""

from __future__ import annotations

from harness.audit.checks import register
from harness.audit.defects.targets import empty_target, format_outlier, length_outlier, short_target

BUILTIN = (empty_target, short_target, length_outlier, format_outlier)

for _check in BUILTIN:
    register(_check)
