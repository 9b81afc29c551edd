"""Third-party output kept off the terminal: the switches one by one, then the CLI end to end."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from harness.quiet import LOGGERS, quiet_libraries

ROOT = Path(__file__).resolve().parent.parent
RAW_BAR = re.compile(r"\d+%\||it/s\]|s/it\]")  # tqdm's "47/47 [00:00<00:00, 670.71it/s]"
LIBRARY_NOISE = re.compile(r"Warning\b|warnings\.warn|\bwarn\(|^WARNING|Loading weights|Failed to load",
                           re.MULTILINE)
HARNESS_LINE = re.compile(
    r"^(─+ \w+ ─+"  # a stage rule
    r"|(audit|sweep|score|judge|gates|report): .+"  # the line a stage ends with; the verdict
    r"|  \w+: .+"  # one trial
    r"|(PASS|FAIL) .+)$"  # one gate
)


def test_warnings_and_library_logs_reach_nobody_inside(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    before = {name: logging.getLogger(name).level for name in LOGGERS}
    env = os.environ.get("TRANSFORMERS_VERBOSITY")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with quiet_libraries():
            warnings.warn("from a library", UserWarning, stacklevel=1)
            logging.getLogger("bitsandbytes.backends.cpu.ops").warning("Failed to load a kernel")
            logging.getLogger("harness.judge").warning("the harness's own log")
            assert os.environ["TRANSFORMERS_VERBOSITY"] == "error"
        warnings.warn("after the block", UserWarning, stacklevel=1)
    assert [str(w.message) for w in seen] == ["after the block"]
    assert [r.getMessage() for r in caplog.records] == ["the harness's own log"]
    assert {name: logging.getLogger(name).level for name in LOGGERS} == before
    assert os.environ.get("TRANSFORMERS_VERBOSITY") == env


def test_transformers_and_hub_bars_are_switched_off_and_back_on() -> None:
    from huggingface_hub.utils import are_progress_bars_disabled
    from transformers.utils import logging as hf_logging

    assert hf_logging.is_progress_bar_enabled() and not are_progress_bars_disabled()
    with quiet_libraries():
        assert not hf_logging.is_progress_bar_enabled() and are_progress_bars_disabled()
    assert hf_logging.is_progress_bar_enabled() and not are_progress_bars_disabled()


def test_quiet_mode_keeps_only_the_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    from harness.progress import console, line, summary, terminal, verdict

    with terminal(quiet=True):
        console.rule("stage")
        line("  a: detail")
        summary("sweep", "2 trials")
        verdict("gates: PASSED")
    summary("audit", "shown again")
    assert capsys.readouterr().err.splitlines() == ["gates: PASSED", "audit: shown again"]


def test_progress_is_drawn_on_a_terminal_only(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.progress import progress_bar

    with progress_bar() as bar:
        bar.advance(bar.add_task("scan train", total=2), 2)
    assert capsys.readouterr().err == ""  # not even a blank line in a log
    assert progress_bar().disable
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich: the captured stream counts as a terminal now
    assert not progress_bar().disable and progress_bar(enabled=False).disable


def test_stderr_muted_keeps_the_harness_console(capsys: pytest.CaptureFixture[str]) -> None:
    from harness.progress import console, stderr_muted, terminal

    with stderr_muted():
        print("lm-eval's bar", file=sys.stderr)
        console.print("harness status")
    with terminal(debug=True), stderr_muted():
        print("shown with --debug", file=sys.stderr)
    assert capsys.readouterr().err.splitlines() == ["harness status", "shown with --debug"]


def _cli(*args: str, cwd: Path) -> tuple[int, list[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    proc = subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
    return proc.returncode, proc.stdout.splitlines()


@pytest.mark.slow
def test_the_tiny_suite_prints_only_harness_lines(tiny_suite_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, lines = _cli("run", str(tiny_suite_path), "--out", str(out), cwd=tmp_path)
    text = "\n".join(lines)
    assert code == 0, text
    assert not RAW_BAR.search(text) and not LIBRARY_NOISE.search(text), text
    assert [x for x in lines if not HARNESS_LINE.match(x)] == [], text
    stages = [x.split(":")[0] for x in lines if re.match(r"^(audit|sweep|score|gates|report): ", x)]
    assert stages == ["audit", "sweep", "score", "gates", "report"], text
    assert [x.strip("─ ") for x in lines if x.startswith("─")] == ["audit", "sweep", "score", "gates"]

    code, quiet = _cli("run", str(tiny_suite_path), "--out", str(out), "--quiet", cwd=tmp_path)
    assert code == 0
    assert quiet == ["gates: PASSED (candidate: b)",
                     f"report: {out / 'index.html'}  results: {out / 'results.json'}"], quiet

    code, debug = _cli("run", str(tiny_suite_path), "--out", str(out), "--debug", cwd=tmp_path)
    assert code == 0 and "Loading weights" in "\n".join(debug)  # --debug gives the libraries their say
