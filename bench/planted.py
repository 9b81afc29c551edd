"""Planted-defect recall and false alarms of the dataset audit.

``python bench/run.py planted --json [--train-rows N] [--eval-rows N] [--per-class N] [--seed S]``

Builds the labelled sets of ``bench/_planted_defects.py`` from real text
(``realdata/instruct``, MMLU test), writes them as JSONL, loads them with the
harness loader and audits them (set A with the eval split and the 14,042 MMLU
test questions, set B alone). Reports recall per class (a defect counts as
found only when the expected check names the right rows together) and the
false-alarm rate: clean rows named by any finding of the planted classes'
checks. The length/short-target outlier checks flag real long or terse
answers by design; their rate on clean rows is reported separately.

``ours_s`` is the audits' wall time with every core; ``anchor_s`` the same
audits on one worker (``identical``: same findings). Also reported: the
near-duplicate recall datasketch's default LSH weights (0.5, 0.5) would give.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench._planted_data import real_pool, realdata_dir, write_jsonl
from bench._planted_defects import CLASSES, Label, PlantedSet, build_set_a, build_set_b
from harness.audit import AuditParams, BenchmarkDoc, load_benchmark, run_audit
from harness.data import load_records
from harness.results import AuditResult, Finding

PLANTED_CHECKS = {"exact_duplicates", "near_duplicates", "leakage", "contamination", "empty_target",
                  "format_outlier"}
OUTLIER_CHECKS = {"length_outlier", "short_target"}
EXPECTED = {"exact_duplicate": "exact_duplicates", "normalized_duplicate": "exact_duplicates",
            "near_duplicate": "near_duplicates", "eval_copied": "leakage", "eval_edited": "leakage",
            "answer_span": "leakage", "mmlu_inserted": "contamination", "empty_target": "empty_target",
            "broken_json": "format_outlier"}


def _rows(pairs: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"instruction": p, "input": "", "output": r} for p, r in pairs]


def _found(label: Label, findings: list[Finding]) -> bool:
    want = {("train", t) for t in label.train}
    if label.eval is not None:
        want.add(("eval", label.eval))
    if label.bench is not None:
        want.add(("benchmark", label.bench))
    for f in findings:
        if f.check != EXPECTED[label.kind]:
            continue
        refs = {(r.split, r.index) for r in f.refs}
        if want <= refs and (label.eval is None or f.refs[0].index == label.eval):
            return True
    return False


def _flagged(result: AuditResult, checks: set[str]) -> set[tuple[str, int]]:
    return {(r.split, r.index) for f in result.findings if f.check in checks for r in f.refs
            if r.split in ("train", "eval")}


def _audit(s: PlantedSet, folder: Path, name: str, mmlu: list[BenchmarkDoc] | None,
           params: AuditParams) -> tuple[AuditResult, float]:
    train = load_records(write_jsonl(_rows(s.train), folder / f"{name}_train.jsonl"))
    evals = load_records(write_jsonl(_rows(s.eval), folder / f"{name}_eval.jsonl")) if s.eval else None
    start = time.perf_counter()
    result = run_audit(train, evals, benchmarks={"mmlu": mmlu} if mmlu else None, params=params,
                       progress=False)
    return result, time.perf_counter() - start


def _score(sets: list[tuple[PlantedSet, AuditResult]]) -> dict[str, Any]:
    recall: dict[str, list[bool]] = {k: [] for k in CLASSES}
    flagged_clean = outlier_clean = clean = 0
    for s, result in sets:
        for label in s.labels:
            recall[label.kind].append(_found(label, result.findings))
        clean_rows = {("train", i) for i in range(len(s.train)) if i not in s.involved_train} | \
                     {("eval", i) for i in range(len(s.eval)) if i not in s.involved_eval}
        clean += len(clean_rows)
        flagged_clean += len(clean_rows & _flagged(result, PLANTED_CHECKS))
        outlier_clean += len(clean_rows & _flagged(result, OUTLIER_CHECKS))
    return {"recall": {k: round(sum(v) / len(v), 4) for k, v in recall.items() if v},
            "planted": {k: len(v) for k, v in recall.items() if v},
            "missed": {k: len(v) - sum(v) for k, v in recall.items() if v},
            "clean_rows": clean, "false_alarm_rows": flagged_clean,
            "false_alarm_rate": round(flagged_clean / clean, 5),
            "outlier_flag_rate_clean": round(outlier_clean / clean, 5)}


def run(argv: list[str]) -> dict[str, Any]:
    ap = argparse.ArgumentParser(prog="bench planted")
    ap.add_argument("--train-rows", type=int, default=4000)
    ap.add_argument("--eval-rows", type=int, default=800)
    ap.add_argument("--per-class", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    pool = real_pool()
    mmlu = load_benchmark("mmlu", realdata_dir() / "mmlu" / "test")
    set_a = build_set_a(pool, mmlu, train_rows=args.train_rows, eval_rows=args.eval_rows,
                        per_class=args.per_class, seed=args.seed)
    set_b = build_set_b(pool, rows=args.train_rows // 4, per_class=args.per_class, seed=args.seed + 1)
    timings: dict[str, float] = {}
    results: dict[str, tuple[AuditResult, AuditResult]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode, params in (("ours", AuditParams()), ("anchor", AuditParams(workers=1)),
                             ("default_weights", AuditParams(lsh_weights=(0.5, 0.5)))):
            res_a, sec_a = _audit(set_a, Path(tmp), "a", mmlu, params)
            res_b, sec_b = _audit(set_b, Path(tmp), "b", None, params)
            results[mode] = (res_a, res_b)
            timings[mode] = sec_a + sec_b
    score = _score([(set_a, results["ours"][0]), (set_b, results["ours"][1])])
    default = _score([(set_a, results["default_weights"][0]), (set_b, results["default_weights"][1])])
    identical = all(o.findings == a.findings for o, a in zip(results["ours"], results["anchor"], strict=True))
    near_jaccards = [float(lb.note.split("=")[1]) for lb in set_a.labels if lb.kind == "near_duplicate"]
    return {"ours_s": round(timings["ours"], 3), "anchor_s": round(timings["anchor"], 3),
            "ratio": round(timings["anchor"] / timings["ours"], 3), "identical": identical,
            **score, "min_recall": min(score["recall"].values()),
            "recall_near_duplicate_default_lsh_weights": default["recall"]["near_duplicate"],
            "near_duplicate_jaccard_range": [round(min(near_jaccards), 3), round(max(near_jaccards), 3)],
            "rows": {"a_train": len(set_a.train), "a_eval": len(set_a.eval), "b_train": len(set_b.train),
                     "mmlu_docs": len(mmlu)}}
