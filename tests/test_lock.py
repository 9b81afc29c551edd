"""One harness per output folder, with real processes: a second run is refused in one line naming the
holder; a lock left by a kill -9 is taken over."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from harness.results import RunResults, write_json
from harness.testing.capped import harness_command, run_capped

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "fixtures" / "tiny"

pytestmark = pytest.mark.slow  # the holder is a real `harness sweep` (it loads the base and starts training)


def long_suite(folder: Path) -> Path:
    """The tiny suite with one trial long enough to still be training when the test is done."""
    doc = yaml.safe_load((TINY / "suite.yaml").read_text())
    doc["base"]["path"] = str((TINY / doc["base"]["path"]).resolve())
    doc["data"] = {k: str(TINY / v) for k, v in doc["data"].items()}
    doc["audit"] = {"enabled": False}
    doc["gates"] = ["exact_match >= 0"]
    doc["sweep"]["defaults"]["max_steps"] = 100_000
    doc["sweep"]["eval_every"] = 50_000
    doc["sweep"]["trials"] = doc["sweep"]["trials"][:1]
    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def start_holder(suite: Path, out: Path) -> subprocess.Popen[bytes]:
    """A real `harness sweep` on ``out``; returns once it has claimed its trial (it is then training)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(harness_command("sweep", suite, "--out", out, "--quiet"), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while not (out / "trials" / "a" / "trial.hash").is_file():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the holder did not start training (exit {proc.poll()})")
        time.sleep(0.2)
    return proc


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    proc.wait(timeout=30)


def test_a_second_run_on_one_folder_is_refused_naming_the_holder(tmp_path: Path) -> None:
    suite = long_suite(tmp_path)
    out = tmp_path / "out"
    holder = start_holder(suite, out)
    try:
        for command in ("sweep", "run", "eval"):
            second = run_capped(harness_command(command, suite, "--out", out, "--quiet"), timeout_s=60)
            assert not second.timed_out, f"a second `harness {command}` did not stop: it ran alongside"
            assert second.returncode == 2 and len(second.lines) == 1, second.stderr[-2000:]
            line = second.lines[0]
            assert f"{out}: in use by pid {holder.pid} on {socket.gethostname()}, started " in line, line
            assert line.endswith("(harness sweep) (wait for it to finish, or pass another --out)"), line
        assert holder.poll() is None  # the first run was not disturbed
    finally:
        stop(holder)


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path: Path) -> None:
    suite = long_suite(tmp_path)
    out = tmp_path / "out"
    stop(start_holder(suite, out), signal.SIGKILL)  # kill -9: no cleanup ran
    assert (out / ".harness.lock").is_file()
    write_json(RunResults(suite="t"), out / "results.json")
    report = run_capped(harness_command("report", out), timeout_s=60)
    assert report.returncode == 0, report.stderr[-2000:]
    assert (out / "index.html").is_file()


def test_the_lock_is_reentrant_in_one_process_and_exclusive_across(tmp_path: Path) -> None:
    from harness.lock import LockedError, output_lock

    with output_lock(tmp_path), output_lock(tmp_path):  # run_suite holds it while the sweep takes it
        code = ("import sys; from harness.lock import output_lock\n"
                f"with output_lock({str(tmp_path)!r}): pass\n")
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert other.returncode != 0 and "in use by pid" in other.stderr
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert other.returncode == 0, other.stderr  # released when the outer block ends
    assert issubclass(LockedError, Exception)
