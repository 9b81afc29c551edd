"""The whole audit of 100k train rows + 5k eval rows + MMLU test: wall time and peak memory.

``python bench/run.py audit_100k --json [--train N] [--eval N] [--workers W]``

Data (built first, not timed): ``bench/_planted_data.py`` samples real
instruction/response pairs from ``realdata/instruct`` with replacement and
replaces 20% of the words of each copy with words from the pool's vocabulary
(train from 90% of the pool, eval from the other 10%), written as JSONL. The
benchmark is ``realdata/mmlu/test`` (14,042 questions).

Each audit runs in a fresh process: open both JSONL files as ``harness audit``
does (indexed, parsed by the scan workers) and load MMLU, ``run_audit`` (every
check), write ``audit.json`` and ``audit.html``. ``ours_s`` is that process's
wall time from the first load to the written report (``process_s`` adds interpreter start and imports);
``peak_rss_gib`` is the peak of the summed RSS of the process and its
workers, sampled every 50 ms (the worker list refreshed every second).
``anchor_s`` is the same audit on one worker;
``identical``: both runs wrote the same findings.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from bench._planted_data import ROOT, real_pool, realdata_dir, synthetic_rows, write_jsonl

CHILD = r"""
import hashlib, json, sys, time
from pathlib import Path
start = time.perf_counter()
from harness.audit import AuditParams, load_benchmark, run_audit
from harness.audit_run import write_audit
from harness.data import open_records
imported = time.perf_counter()
train_path, eval_path, mmlu, out, workers = sys.argv[1:6]
train = open_records(train_path)
evals = open_records(eval_path)
docs = load_benchmark("mmlu", Path(mmlu))
loaded = time.perf_counter()
params = AuditParams(workers=int(workers) if workers != "auto" else None)
result = run_audit(train, evals, benchmarks={"mmlu": docs}, params=params, progress=False)
audited = time.perf_counter()
write_audit(result, Path(out), title="Dataset audit")
done = time.perf_counter()
findings = json.dumps([f.model_dump(mode="json") for f in result.findings], sort_keys=True)
print(json.dumps({"wall_s": done - imported, "load_s": loaded - imported, "audit_s": audited - loaded,
                  "write_s": done - audited, "import_s": imported - start,
                  "digest": hashlib.sha256(findings.encode()).hexdigest(),
                  "counts": result.summary["counts"], "stages": result.summary["stages"],
                  "workers": result.summary["workers"], "rows": result.summary["rows"],
                  "benchmarks": result.summary["benchmarks"]}))
"""


def _tree(proc: psutil.Process) -> list[psutil.Process]:
    with contextlib.suppress(psutil.Error):
        return [proc, *proc.children(recursive=True)]
    return [proc]


def _rss(procs: list[psutil.Process]) -> int:
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):  # a worker that just exited
            total += p.memory_info().rss
    return total


def _pss(pid: int) -> int:
    """Proportional set size (shared pages split between their sharers), from smaps_rollup."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # not Linux, or the process just exited
        pass
    return 0


# The sampler shares the 2 cores with the audit it measures, so it must stay cheap:
# listing the process tree scans all of /proc and smaps_rollup walks every page of
# a 3 GiB process. Sampling both every 20 ms took ~50 CPU s beside a 1M-row audit.
RSS_EVERY_S = 0.05
TREE_EVERY = 20  # RSS samples: the worker list is refreshed every second
PSS_EVERY = 40  # RSS samples: PSS is read every 2 s


def audit_process(args: list[str], child: str = CHILD) -> tuple[dict[str, Any], float, int, int]:
    """Run the child audit; (its report, process wall seconds, peak tree RSS and PSS bytes)."""
    start = time.perf_counter()
    proc = psutil.Popen([sys.executable, "-c", child, *args], stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, cwd=ROOT, text=True)
    peak = peak_pss = 0
    tick = 0
    procs = [proc]
    while proc.poll() is None:
        if tick % TREE_EVERY == 0:
            procs = _tree(proc)
        peak = max(peak, _rss(procs))
        if tick % PSS_EVERY == 0:
            peak_pss = max(peak_pss, sum(_pss(p.pid) for p in procs))
        tick += 1
        time.sleep(RSS_EVERY_S)
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"audit process failed ({proc.returncode}): {err[-2000:]}")
    return json.loads(out.strip().splitlines()[-1]), wall, peak, peak_pss


def run(argv: list[str]) -> dict[str, Any]:
    ap = argparse.ArgumentParser(prog="bench audit_100k")
    ap.add_argument("--train", type=int, default=100_000)
    ap.add_argument("--eval", type=int, default=5_000)
    ap.add_argument("--workers", default="auto")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    pool = real_pool()
    cut = len(pool) // 10
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        train = write_jsonl(synthetic_rows(pool[cut:], args.train, args.seed + 1), folder / "train.jsonl")
        evals = write_jsonl(synthetic_rows(pool[:cut], args.eval, args.seed + 2), folder / "eval.jsonl")
        mmlu = str(realdata_dir() / "mmlu" / "test")
        common = [str(train), str(evals), mmlu]
        ours, ours_wall, ours_peak, ours_pss = audit_process([*common, str(folder / "ours"), args.workers])
        anchor, _, anchor_peak, _ = audit_process([*common, str(folder / "anchor"), "1"])
        sizes = {"train_mb": round(train.stat().st_size / 2**20, 1),
                 "eval_mb": round(evals.stat().st_size / 2**20, 1),
                 "audit_json_mb": round((folder / "ours" / "audit.json").stat().st_size / 2**20, 2)}
    return {"ours_s": round(ours["wall_s"], 3), "anchor_s": round(anchor["wall_s"], 3),
            "ratio": round(anchor["wall_s"] / ours["wall_s"], 3),
            "identical": ours["digest"] == anchor["digest"],
            "peak_rss_gib": round(ours_peak / 2**30, 3), "peak_pss_gib": round(ours_pss / 2**30, 3),
            "anchor_peak_rss_gib": round(anchor_peak / 2**30, 3),
            "under_60s": ours["wall_s"] < 60, "under_4gib": ours_peak < 4 * 2**30,
            "load_avg_1m": os.getloadavg()[0],
            "process_s": round(ours_wall, 3), "load_s": round(ours["load_s"], 3),
            "audit_s": round(ours["audit_s"], 3), "write_s": round(ours["write_s"], 3),
            "stages": ours["stages"], "workers": ours["workers"], "findings": ours["counts"],
            "rows": {**ours["rows"], **ours["benchmarks"]}, **sizes}
