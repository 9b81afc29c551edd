from __future__ import annotations

import subprocess
import sys

import harness


def test_every_name_in_all_resolves() -> None:
    for name in harness.__all__:
        assert getattr(harness, name) is not None, name


def test_import_is_light() -> None:
    # The pytest plugin imports harness in every session: torch must not come with it.
    code = "import sys, harness, harness.pytest_plugin; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
