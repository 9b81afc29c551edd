"""A clean SIGKILLed while it writes leaves no half-written output; the CLI refuses a folder with files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from harness.audit import AuditParams, clean_dataset
from tests.audit.clean_support import planted_sets, write

ROOT = Path(__file__).resolve().parents[2]
# Run a clean whose writes crawl (small blocks, a pause each) and say which file they are writing.
SLOW = """
import sys, time
from pathlib import Path
import harness.audit.clean_write as cw
from harness.audit import AuditParams, clean_dataset
cw._BATCH = 512
write = cw.AtomicFile.write
said = set()
def slow(self, data):
    if self.path.name not in said:
        said.add(self.path.name)
        print("writing", self.path.name, flush=True)
    time.sleep(0.05)
    write(self, data)
cw.AtomicFile.write = slow
clean_dataset(Path(sys.argv[1]), Path(sys.argv[2]), out=Path(sys.argv[3]), params=AuditParams(workers=1),
              force=True)
"""


def _kill_while_writing(train: Path, evals: Path, out: Path, name: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", SLOW, str(train), str(evals), str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == f"writing {name}":
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)


def test_sigkill_while_writing_leaves_whole_files_or_none(tmp_path: Path) -> None:
    train_rows, eval_rows = planted_sets()  # 85 rows, about 90 kB: many slow blocks
    train, evals = write(train_rows, tmp_path / "train.jsonl"), write(eval_rows, tmp_path / "eval.jsonl")
    reference = tmp_path / "reference"
    clean_dataset(train, evals, out=reference, params=AuditParams(workers=1))
    out = tmp_path / "out"

    _kill_while_writing(train, evals, out, "train.jsonl")
    names = sorted(p.name for p in out.iterdir())
    assert [n for n in names if not n.startswith(".")] == []  # nothing finished: nothing in place
    assert any(n.startswith(".train.jsonl.") and n.endswith(".tmp") for n in names)  # the partial, hidden

    _kill_while_writing(train, evals, out, "removed.jsonl")
    visible = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert visible == ["train.jsonl"]  # whole, and the same bytes an uninterrupted clean writes
    assert (out / "train.jsonl").read_bytes() == (reference / "train.jsonl").read_bytes()

    clean_dataset(train, evals, out=out, params=AuditParams(workers=1), force=True)
    for name in ("train.jsonl", "removed.jsonl"):
        assert (out / name).read_bytes() == (reference / name).read_bytes()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # the rerun cleared the partials
    assert json.loads((out / "clean.json").read_text())["verified"] is True


def test_cli_refuses_a_folder_that_holds_files_in_one_line(tmp_path: Path) -> None:
    train_rows, eval_rows = planted_sets()
    train, evals = write(train_rows, tmp_path / "train.jsonl"), write(eval_rows, tmp_path / "eval.jsonl")
    folder = tmp_path / "clean"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    cmd = [sys.executable, "-m", "harness.cli", "audit", str(train), "--eval", str(evals), "--quiet",
           "--out", str(tmp_path / "audit"), "--write-clean", str(folder)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    refused = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "holds 1 file(s) (keep.txt)" in refused.stderr and "--force" in refused.stderr
    assert not (tmp_path / "audit").exists()  # refused before any work
    forced = subprocess.run([*cmd, "--force", "--keep", "longest"], capture_output=True, text=True, cwd=ROOT,
                            env=env, timeout=300)
    assert forced.returncode == 1  # the audit of the input found errors (empty target, leak)
    assert "clean: kept 80 of 85 train rows" in forced.stdout + forced.stderr
    assert json.loads((folder / "clean.json").read_text())["policy"]["keep"] == "longest"
