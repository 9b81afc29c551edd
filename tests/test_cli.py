"""Every subcommand, given a missing, an empty and a malformed file, exits 2 with one line naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def harness(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def bad_files(tmp_path: Path, suffix: str) -> dict[str, Path]:
    empty = tmp_path / f"empty{suffix}"
    empty.write_text("")
    bad = tmp_path / f"bad{suffix}"
    bad.write_text(
        '{"instruction": "a", "output": "b"}\n{"instruction": oops}\n'
        if suffix == ".jsonl"
        else "name: [unclosed\n"
    )
    return {"missing": tmp_path / f"missing{suffix}", "empty": empty, "malformed": bad}


@pytest.mark.parametrize("command", ["run", "sweep", "eval", "audit"])
@pytest.mark.parametrize("kind", ["missing", "empty", "malformed"])
def test_bad_input_exits_2_with_one_line(tmp_path: Path, command: str, kind: str) -> None:
    suffix = ".jsonl" if command == "audit" else ".yaml"
    path = bad_files(tmp_path, suffix)[kind]
    proc = harness(command, str(path), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, proc.stderr
    assert path.name in lines[0] and "Traceback" not in proc.stderr
    if kind == "malformed" and command == "audit":
        assert f"{path.name}:2" in lines[0]


@pytest.mark.parametrize("kind", ["missing", "empty", "malformed"])
def test_report_and_baseline_bad_folders(tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "run"
    if kind != "missing":
        folder.mkdir()
        (folder / "results.json").write_text("" if kind == "empty" else "{not json")
    for args in (["report", str(folder)], ["baseline", "accept", str(folder)]):
        proc = harness(*args, cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = [x for x in proc.stderr.splitlines() if x.strip()]
        assert len(lines) == 1 and "results.json" in lines[0], proc.stderr


def test_usage_error_exits_2(tmp_path: Path) -> None:
    assert harness("frobnicate", cwd=tmp_path).returncode == 2
    assert harness("audit", cwd=tmp_path).returncode == 2


def test_debug_shows_traceback(tmp_path: Path) -> None:
    proc = harness("--debug", "run", str(tmp_path / "nope.yaml"), cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" in proc.stderr
