"""Run a command under a memory and time cap, so that a runaway regression fails its test, not the machine.

``run_capped`` starts ``harness`` (or any command) in its own session with
``RLIMIT_AS`` set in the child before it executes, and kills the whole group
when the time cap passes. A child that ran out of memory shows as a
``MemoryError`` (or a kill); one that ran out of time as ``timed_out``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

GiB = 1 << 30


@dataclass(frozen=True)
class Capped:
    """How a capped command ended."""

    returncode: int | None  # None: killed at the time cap
    stdout: str
    stderr: str

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    @property
    def lines(self) -> list[str]:
        """stderr's non-empty lines."""
        return [ln for ln in self.stderr.splitlines() if ln.strip()]


def _limit(mem_bytes: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))


def run_capped(args: Sequence[str | Path], *, mem_bytes: int = 3 * GiB, timeout_s: float = 60.0,
               cwd: str | Path | None = None, env: dict[str, str] | None = None) -> Capped:
    """Run ``args`` with at most ``mem_bytes`` of address space and ``timeout_s`` seconds."""
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **(env or {})}
    proc = subprocess.Popen([str(a) for a in args], cwd=cwd, env=full_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, errors="backslashreplace",
                            start_new_session=True, preexec_fn=lambda: _limit(mem_bytes))
    try:
        out, err = proc.communicate(timeout=timeout_s)
        return Capped(proc.returncode, out, err)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return Capped(None, out, err)


def harness_command(*args: str | Path) -> list[str | Path]:
    """``python -m harness.cli ARGS`` with this interpreter."""
    return [sys.executable, "-m", "harness.cli", *args]


__all__ = ["Capped", "harness_command", "run_capped"]
