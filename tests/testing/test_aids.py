"""Hostile-input generators and planted-defect makers live in the opt-in package only."""

from __future__ import annotations

from pathlib import Path

import harness

PACKAGE = Path(harness.__file__).resolve().parent


def test_the_generators_and_planted_defects_moved_into_harness_testing() -> None:
    from harness.testing import fuzzing, serving_families, serving_planted, template_planted

    assert fuzzing.GENERATORS and callable(template_planted.planted_groups)
    assert serving_families.FAMILIES and callable(serving_planted.planted_cases)
    old = ["fuzzing.py", "audit/template_planted.py", "audit/serving_planted.py", "audit/serving_families.py"]
    assert [p for p in old if (PACKAGE / p).exists()] == []
