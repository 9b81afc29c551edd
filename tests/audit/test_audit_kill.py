"""SIGKILL during `harness audit`: the old audit.json stays whole; the rerun equals an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def audit_cmd(train: Path, eval_: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "harness.cli",
        "audit",
        str(train),
        "--eval",
        str(eval_),
        "--out",
        str(out),
        "--quiet",
    ]


def test_kill_during_audit_then_rerun(tmp_path: Path) -> None:
    rows = [
        {
            "instruction": f"Describe item {i} in words",
            "input": f"item {i % 997} of kind {i % 13}",
            "output": f"It is item {i} and it is kind {i % 13}.",
        }
        for i in range(6000)
    ]
    train, eval_ = tmp_path / "train.jsonl", tmp_path / "eval.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    eval_.write_text("".join(json.dumps(r) + "\n" for r in rows[:40]))
    reference = tmp_path / "reference"
    subprocess.run(audit_cmd(train, eval_, reference), check=False, capture_output=True, timeout=600)
    expected = json.loads((reference / "audit.json").read_text())

    out = tmp_path / "out"
    out.mkdir()
    (out / "audit.json").write_text(json.dumps({"findings": [], "checks": [], "summary": {"old": True}}))
    for delay in (0.5, 2.0, 4.0):
        proc = subprocess.Popen(
            audit_cmd(train, eval_, out),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        data = json.loads((out / "audit.json").read_text())  # whole: the old file or a complete new one
        assert data.get("summary", {}).get("old") or data["findings"] == expected["findings"]

    subprocess.run(audit_cmd(train, eval_, out), check=False, capture_output=True, timeout=600)
    final = json.loads((out / "audit.json").read_text())
    assert final["findings"] == expected["findings"]
    assert [c["check"] for c in final["checks"]] == [c["check"] for c in expected["checks"]]
