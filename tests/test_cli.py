"""Every subcommand, given a missing, an empty and a malformed file, exits 2 with one line naming it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from factories import make_trial

from harness.results import RunResults, SweepResult, write_json

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


def _sweep(names: Sequence[str]) -> SweepResult:
    """Hand-built trials (no model is trained in these tests)."""
    return SweepResult(
        trials=[
            make_trial(
                name,
                4 * (i + 1),
                steps=4,
                config_hash=f"h{i}",
                trainable_params=1000 * (i + 1),
                total_params=100000,
                trainable_share=0.01 * (i + 1),
                adapter_path="/nonexistent",
            )
            for i, name in enumerate(names)
        ]
    )


def test_report_renders_the_sweep_page_next_to_the_index(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    models = {
        "base": {"exact_match": 0.0},
        "wide-r8": {"exact_match": 0.5},
        "narrow-r4": {"exact_match": 0.4},
    }
    results = RunResults(
        suite="s", models=models, sweep=_sweep(["wide-r8", "narrow-r4"]), candidate="wide-r8"
    )
    write_json(results, folder / "results.json")
    proc = harness("report", str(folder), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    page = (folder / "sweep.html").read_text()
    assert "wide-r8" in page and "narrow-r4" in page and 'href="index.html"' in page
    assert 'href="sweep.html"' in (folder / "index.html").read_text()
    # without a sweep there is no sweep page (and no stale one written)
    write_json(RunResults(suite="s", models=models), tmp_path / "plain" / "results.json")
    assert harness("report", str(tmp_path / "plain"), cwd=tmp_path).returncode == 0
    assert not (tmp_path / "plain" / "sweep.html").exists()


def test_sweep_command_writes_an_unscored_sweep_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_suite_path: Path
) -> None:
    import harness.train.sweep
    from harness.cli import main

    monkeypatch.setattr(harness.train.sweep, "run_sweep", lambda suite, out, executor: _sweep(["a", "b"]))
    out = tmp_path / "out"
    assert main(["sweep", str(tiny_suite_path), "--out", str(out), "--quiet"]) == 0
    page = (out / "sweep.html").read_text()
    assert 'id="compare"' in page and "exact_match" not in page  # never scored: no metric rows
