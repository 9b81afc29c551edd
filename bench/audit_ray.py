"""`harness audit --executor ray` on a local Ray cluster against the local executor, same data and workers.

``python bench/run.py audit_ray --json [--train 200000] [--eval 10000] [--workers 2] [--no-clean]``

Data as ``audit_1m`` builds it (``bench/_planted_data.py``: real instruction
pairs from ``realdata/instruct``, 20% of each copy's words replaced), JSONL,
plus ``realdata/mmlu/test``. Each audit is ``harness audit TRAIN --eval EVAL
--benchmark mmlu=DIR --workers W --write-clean DIR`` (``--no-clean``: without
``--write-clean``) in a fresh process
(``harness.cli.main``); ours adds ``--executor ray`` (a local instance started
by the audit, one CPU per worker). Per run: ``wall_s`` (imports excluded),
``driver_peak_rss_gib`` (the audit process alone: ``ru_maxrss``),
``tree_peak_rss_gib`` (the process and every descendant, Ray's own processes
and workers included, sampled every 50 ms) and the load average before it.
``check_s``: each check's seconds (``audit.json``'s ``checks``).
``identical``: the same findings and the same cleaned train file. On one small
machine Ray is slower (its processes and the object store cost time and
memory); the point is the cluster path, whose driver holds no signatures.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

from bench._planted_data import real_pool, realdata_dir, synthetic_rows, write_jsonl
from bench.audit_100k import audit_process

CHILD = r"""
import hashlib, json, resource, sys, time
start = time.perf_counter()
import harness.cli as cli
imported = time.perf_counter()
train, evals, mmlu, out, workers, executor, clean = sys.argv[1:8]
argv = ["audit", train, "--eval", evals, "--benchmark", f"mmlu={mmlu}", "--out", out, "--quiet",
        "--workers", workers, "--executor", executor]
argv += ["--write-clean", out + "/clean"] if clean == "1" else []
code = cli.main(argv)
done = time.perf_counter()
if code not in (0, 1):
    sys.exit(f"harness audit exited {code}")
report = json.loads(open(out + "/audit.json", encoding="utf-8").read())
findings = json.dumps(report["findings"], sort_keys=True)
cleaned = hashlib.sha256(open(out + "/clean/train.jsonl", "rb").read()).hexdigest() if clean == "1" else None
print(json.dumps({"wall_s": done - imported, "digest": hashlib.sha256(findings.encode()).hexdigest(),
                  "clean_sha256": cleaned, "counts": report["summary"]["counts"],
                  "stages": report["summary"]["stages"], "executor": report["summary"]["executor"],
                  "check_s": {c["check"]: c["seconds"] for c in report["checks"]},
                  "driver_peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def _audit(train: Path, evals: Path, mmlu: Path, out: Path, workers: int, executor: str,
           clean: bool) -> dict[str, Any]:
    load = os.getloadavg()[0]
    report, process_s, peak, _ = audit_process([str(train), str(evals), str(mmlu), str(out), str(workers),
                                                executor, "1" if clean else "0"], CHILD)
    return {"executor": report["executor"], "wall_s": round(report["wall_s"], 3),
            "process_s": round(process_s, 3),
            "driver_peak_rss_gib": round(report["driver_peak_rss"] / 2**30, 3),
            "tree_peak_rss_gib": round(peak / 2**30, 3), "load_avg_1m_before": round(load, 2),
            "stages": report["stages"], "check_s": report["check_s"], "findings": report["counts"],
            "digest": report["digest"],
            "clean_sha256": report["clean_sha256"]}


def run(argv: list[str]) -> dict[str, Any]:
    ap = argparse.ArgumentParser(prog="bench audit_ray")
    ap.add_argument("--train", type=int, default=200_000)
    ap.add_argument("--eval", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-clean", action="store_true", help="audit only (no --write-clean)")
    args = ap.parse_args(argv)
    pool = real_pool()
    cut = len(pool) // 10
    mmlu = realdata_dir() / "mmlu" / "test"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        train = write_jsonl(synthetic_rows(pool[cut:], args.train, args.seed + 1), folder / "train.jsonl")
        evals = write_jsonl(synthetic_rows(pool[:cut], args.eval, args.seed + 2), folder / "eval.jsonl")
        local = _audit(train, evals, mmlu, folder / "local", args.workers, "local", not args.no_clean)
        ours = _audit(train, evals, mmlu, folder / "ray", args.workers, "ray", not args.no_clean)
    identical = ours["digest"] == local["digest"] and ours["clean_sha256"] == local["clean_sha256"]
    return {"ours_s": ours["wall_s"], "anchor_s": local["wall_s"],
            "ratio": round(local["wall_s"] / ours["wall_s"], 3), "identical": identical,
            "anchor": f"the local executor on {args.workers} workers", "train_rows": args.train,
            "eval_rows": args.eval, "workers": args.workers,
            "driver_peak_rss_gib": ours["driver_peak_rss_gib"],
            "tree_peak_rss_gib": ours["tree_peak_rss_gib"], "runs": [local, ours]}
