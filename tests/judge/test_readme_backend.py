"""The README's "Your own judge backend" example runs as written and prints what the README says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def example_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Your own judge backend", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_readme_backend_example_runs(tmp_path: Path) -> None:
    module, script = example_blocks()
    assert module.startswith("# my_judges.py")
    (tmp_path / "my_judges.py").write_text(module, encoding="utf-8")
    (tmp_path / "run_it.py").write_text(script, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    outputs = [subprocess.run([sys.executable, "run_it.py"], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=120) for _ in range(2)]
    for proc in outputs:
        assert proc.returncode == 0, proc.stderr
    scores = "{'base': 1.0, 'ft': 4.0}"
    first, again = (proc.stdout.splitlines() for proc in outputs)
    assert first == [f"{scores} requests 2 problem None", f"{scores} requests 2"]
    assert again == [f"{scores} requests 0 problem None", f"{scores} requests 0"]  # from the cache
