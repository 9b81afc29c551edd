"""The hostile-input generators and the planted template defects live in the opt-in package only."""

from __future__ import annotations

from pathlib import Path

import harness

PACKAGE = Path(harness.__file__).resolve().parent


def test_the_generators_and_planted_defects_moved_into_harness_testing() -> None:
    from harness.testing import fuzzing, template_planted

    assert fuzzing.GENERATORS and callable(template_planted.planted_groups)
    assert not (PACKAGE / "fuzzing.py").exists()
    assert not (PACKAGE / "audit" / "template_planted.py").exists()
