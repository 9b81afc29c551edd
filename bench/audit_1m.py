"""`harness audit` of 1M train rows + 50k eval rows + MMLU test, and the curve at 100k and 400k rows.

``python bench/run.py audit_1m --json [--sizes 100000,400000,1000000] [--eval 50000] [--workers 1,2]``

Data (built first, not timed), as ``audit_100k`` builds it: ``bench/_planted_data.py``
samples real instruction/response pairs from ``realdata/instruct`` with
replacement and replaces 20% of the words of each copy (train from 90% of the
pool, eval from the other 10%), written as JSONL; one stream of train rows,
whose first 100k and 400k rows are the smaller sets. The benchmark is
``realdata/mmlu/test`` (14,042 questions).

Each audit is ``harness audit TRAIN --eval EVAL --benchmark mmlu=DIR --workers W``
run by ``harness.cli.main`` in a fresh process: the CLI's own path (the JSONL
streamed through the scan workers, every check the runner has, audit.json and
audit.html written, and ``--write-clean`` when the CLI offers it). Per run:
``wall_s`` from the call to the written report (imports excluded; ``process_s``
includes them), ``cpu_s`` (user + system of the process and its workers),
``peak_rss_gib`` (the peak of the summed RSS of the process and its workers,
sampled every 50 ms, the worker list refreshed every second; forked workers
count the pages they share with the parent again), ``peak_pss_gib`` (the same with shared pages split between
their sharers, every 2 s: the memory really used) and the machine's
1-minute load average before the run.

``ours_s``/``peak_rss_gib``: the largest size with the most workers.
``anchor_s``: the smallest size's time on as many workers, scaled linearly to
the largest size (what a linear audit would take); ``ratio`` = anchor / ours,
so 1 is linear and the bar "time per row at 1M within 1.3x of 100k's" is
ratio >= 1/1.3. ``identical``: every size's runs wrote the same findings
whatever the number of workers (and every repeat).

``--repeat N`` runs the largest size on the most workers N times in all (this
VM's speed varies from run to run): ``repeat_wall_s``, ``repeat_cpu_s`` and
the load before each, ``worst_s`` and ``under_120s_every_run``; ``ours_s``
stays the first run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import tempfile
from pathlib import Path
from typing import Any

from bench._planted_data import iter_synthetic_rows, real_pool, realdata_dir, synthetic_rows, write_jsonl
from bench.audit_100k import audit_process

CHILD = r"""
import argparse, hashlib, json, sys, time
start = time.perf_counter()
import harness.cli as cli
imported = time.perf_counter()
train, evals, mmlu, out, workers = sys.argv[1:6]
argv = ["audit", train, "--eval", evals, "--benchmark", f"mmlu={mmlu}", "--out", out, "--quiet",
        "--workers", workers]
sub = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
clean = "--write-clean" in sub.choices["audit"]._option_string_actions
if clean:
    argv += ["--write-clean", out + "/clean"]
code = cli.main(argv)
done = time.perf_counter()
if code not in (0, 1):
    sys.exit(f"harness audit exited {code}")
report = json.loads(open(out + "/audit.json", encoding="utf-8").read())
findings = json.dumps(report["findings"], sort_keys=True)
summary = report["summary"]
print(json.dumps({"wall_s": done - imported, "import_s": imported - start, "write_clean": clean,
                  "digest": hashlib.sha256(findings.encode()).hexdigest(), "counts": summary["counts"],
                  "stages": summary["stages"], "workers": summary["workers"], "rows": summary["rows"],
                  "checks": summary["checks_run"]}))
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _audit(train: Path, evals: Path, mmlu: Path, out: Path, workers: int) -> dict[str, Any]:
    load = os.getloadavg()[0]
    cpu = _children_cpu()
    args = [str(train), str(evals), str(mmlu), str(out), str(workers)]
    report, process_s, peak, peak_pss = audit_process(args, CHILD)
    rows = report["rows"]["train"]
    return {"rows": rows, "workers": report["workers"], "wall_s": round(report["wall_s"], 3),
            "us_per_row": round(report["wall_s"] / rows * 1e6, 2), "cpu_s": round(_children_cpu() - cpu, 3),
            "peak_rss_gib": round(peak / 2**30, 3), "peak_pss_gib": round(peak_pss / 2**30, 3),
            "process_s": round(process_s, 3),
            "load_avg_1m_before": round(load, 2), "stages": report["stages"], "findings": report["counts"],
            "checks": report["checks"], "write_clean": report["write_clean"], "digest": report["digest"]}


def _data(folder: Path, sizes: list[int], eval_rows: int, seed: int) -> tuple[dict[int, Path], Path]:
    pool = real_pool()
    cut = len(pool) // 10
    evals = write_jsonl(synthetic_rows(pool[:cut], eval_rows, seed + 2), folder / "eval.jsonl")
    with contextlib.ExitStack() as stack:  # one stream: the first n rows of the largest set are the n-row set
        files = {n: stack.enter_context(open(folder / f"train_{n}.jsonl", "w", encoding="utf-8"))
                 for n in sizes}
        for i, row in enumerate(iter_synthetic_rows(pool[cut:], max(sizes), seed + 1)):
            line = json.dumps(row, ensure_ascii=False) + "\n"  # as write_jsonl writes it
            for n, fh in files.items():
                if i < n:
                    fh.write(line)
    return {n: folder / f"train_{n}.jsonl" for n in sizes}, evals


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def run(argv: list[str]) -> dict[str, Any]:
    ap = argparse.ArgumentParser(prog="bench audit_1m")
    ap.add_argument("--sizes", type=_ints, default=[100_000, 400_000, 1_000_000])
    ap.add_argument("--eval", type=int, default=50_000)
    ap.add_argument("--workers", type=_ints, default=[1, 2])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs of the largest size on the most workers (this VM's speed varies)")
    args = ap.parse_args(argv)
    sizes, workers = sorted(args.sizes), sorted(args.workers)
    mmlu = realdata_dir() / "mmlu" / "test"
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        trains, evals = _data(folder, sizes, args.eval, args.seed)
        for n in sizes:
            for w in workers:
                runs.append(_audit(trains[n], evals, mmlu, folder / f"out_{n}_{w}", w))
        top, most = sizes[-1], workers[-1]
        again = [_audit(trains[top], evals, mmlu, folder / f"again_{k}", most)
                 for k in range(args.repeat - 1)]
    by = {(r["rows"], r["workers"]): r for r in runs}
    ours = by[(top, most)]
    repeats = [ours, *again]
    anchor = by[(sizes[0], most)]["wall_s"] * top / sizes[0]
    identical = all(len({by[(n, w)]["digest"] for w in workers}) == 1 for n in sizes) and \
        len({r["digest"] for r in repeats}) == 1
    never_slower = all(by[(n, w)]["wall_s"] <= by[(n, workers[0])]["wall_s"] for n in sizes for w in workers)
    return {"ours_s": ours["wall_s"], "anchor_s": round(anchor, 3),
            "ratio": round(anchor / ours["wall_s"], 3), "identical": identical,
            "peak_rss_gib": ours["peak_rss_gib"], "peak_pss_gib": ours["peak_pss_gib"],
            "cpu_s": ours["cpu_s"],
            "anchor": f"the {sizes[0]}-row run on {most} workers, scaled linearly to {top} rows",
            "per_row_ratio": round(ours["us_per_row"] / by[(sizes[0], most)]["us_per_row"], 3),
            "under_120s": ours["wall_s"] < 120, "under_6gib": ours["peak_rss_gib"] < 6,
            "under_60s": ours["wall_s"] < 60, "under_4gib": ours["peak_rss_gib"] < 4,
            "more_workers_never_slower": never_slower, "write_clean": ours["write_clean"],
            "repeat_wall_s": [r["wall_s"] for r in repeats], "repeat_cpu_s": [r["cpu_s"] for r in repeats],
            "repeat_load_avg_1m_before": [r["load_avg_1m_before"] for r in repeats],
            "worst_s": max(r["wall_s"] for r in repeats),
            "worst_peak_rss_gib": max(r["peak_rss_gib"] for r in repeats),
            "under_120s_every_run": all(r["wall_s"] < 120 for r in repeats),
            "eval_rows": args.eval, "checks": ours["checks"],
            "curve": [{k: v for k, v in r.items() if k not in ("digest", "checks")} for r in runs]}
