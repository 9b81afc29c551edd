"""Audit pool workers die with their parent: SIGKILL the audit process, its workers are gone in seconds."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import sys
from harness.audit import AuditParams, run_audit
from harness.data.opening import open_records
run_audit(open_records(sys.argv[1]), params=AuditParams(workers=2), progress=False)
"""


def _write_rows(path: Path, rows: int) -> None:
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(5000)]
    with open(path, "w", encoding="utf-8") as fh:
        for _ in range(rows):
            fh.write(json.dumps({"instruction": " ".join(rng.choices(vocab, k=40)), "input": "",
                                 "output": " ".join(rng.choices(vocab, k=80))}) + "\n")


def _workers(proc: psutil.Process, timeout: float) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = proc.children(recursive=True)
        if len(found) >= 2:
            return found
        time.sleep(0.05)
    return []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_workers_die_when_the_audit_is_killed(tmp_path: Path) -> None:
    train = tmp_path / "train.jsonl"
    _write_rows(train, 40_000)  # about 30 MB: enough chunks that the audit is still scanning when killed
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = psutil.Popen([sys.executable, "-c", CHILD, str(train)], env=env, cwd=ROOT,
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    workers: list[psutil.Process] = []
    try:
        workers = _workers(proc, timeout=120)
        assert workers, "the audit started no workers"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        _, alive = psutil.wait_procs(workers, timeout=5)
        assert not alive, f"workers outlived their parent: {[p.pid for p in alive]}"
    finally:  # never leave a process behind, whatever failed
        for p in [proc, *workers]:
            if p.is_running():
                p.kill()


def test_a_worker_whose_parent_is_already_gone_exits() -> None:
    # The check after prctl: a worker re-parented before the request took effect must not linger.
    code = ("import os, sys; from harness.audit.executors import die_with_parent; "
            "die_with_parent(os.getppid() + 1); sys.exit(0)")
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)},
                          cwd=ROOT, timeout=60, check=False)
    assert done.returncode == 1
