"""The README's "Your own audit check" example runs as written and prints what the README says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_check_example_runs(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Your own audit check", 1)[1].split("\n### ", 1)[0]
    module, script = re.findall(r"```python\n(.*?)```", section, re.S)
    (printed,) = re.findall(r"prints\n\n```\n(.*?)```", section, re.S)
    assert module.startswith("# my_checks.py")
    (tmp_path / "my_checks.py").write_text(module, encoding="utf-8")
    (tmp_path / "run_it.py").write_text(script, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    proc = subprocess.run([sys.executable, "run_it.py"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == printed
