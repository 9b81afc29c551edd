"""Planted-defect recall and false alarms of the dataset audit.

``python bench/run.py planted --json [--train-rows N] [--eval-rows N] [--per-class N] [--seed S]``

Builds the labelled sets of ``bench/_planted_defects.py`` and
``bench/_planted_synthetic.py`` from real text (``realdata/instruct``, MMLU
test), writes them as JSONL, loads them with the harness loader and audits
them (set A with the eval split and the 14,042 MMLU test questions, sets B and
C alone). Reports recall per class (a defect counts as found only when the
expected check names the right rows together) and the false-alarm rate:
clean rows named by any finding of the planted classes' checks, and per
synthetic-data class (``synthetic``: recall and false alarms per check). The
length/short-target outlier checks flag real long or terse answers by design;
their rate on clean rows is reported separately.

``round_trip``: set A (with its eval split and MMLU) and the original Stanford
Alpaca file (``realdata/dedup/alpaca_cleaning``) cleaned, re-audited and
compared byte for byte (``bench/_planted_roundtrip.py``); ``alpaca``: how many
rows of that file each per-row check flags, with five examples each.

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
from bench._planted_roundtrip import round_trip
from bench._planted_synthetic import CLASSES as SYNTHETIC
from bench._planted_synthetic import EXPECTED as SYNTHETIC_EXPECTED
from bench._planted_synthetic import build_set_c
from harness.audit import AuditParams, BenchmarkDoc, load_benchmark, run_audit
from harness.audit.checks import builtin_checks
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


def _synthetic(sets: list[tuple[PlantedSet, AuditResult]],
               set_c: tuple[PlantedSet, AuditResult]) -> dict[str, Any]:
    """Recall of set C's classes, and per check the share of clean rows (all sets) it flags."""
    s, result = set_c
    found: dict[str, list[bool]] = {k: [] for k in SYNTHETIC}
    for label in s.labels:
        want = {("train", t) for t in label.train}
        found[label.kind].append(any(f.check in SYNTHETIC_EXPECTED[label.kind] and
                                     want <= {(r.split, r.index) for r in f.refs} for f in result.findings))
    checks = sorted({c for cs in SYNTHETIC_EXPECTED.values() for c in cs})
    clean = flagged = 0
    per_check = dict.fromkeys(checks, 0)
    for ps, res in [*sets, set_c]:
        rows = {("train", i) for i in range(len(ps.train)) if i not in ps.involved_train} | \
               {("eval", i) for i in range(len(ps.eval)) if i not in ps.involved_eval}
        clean += len(rows)
        flagged += len(rows & _flagged(res, set(checks) - {"short_target"}))
        for c in checks:
            per_check[c] += len(rows & _flagged(res, {c}))
    recall = {k: round(sum(v) / len(v), 4) for k, v in found.items() if v}
    return {"recall": recall, "planted": {k: len(v) for k, v in found.items()},
            "missed": {k: len(v) - sum(v) for k, v in found.items()},
            "false_alarm_rate": {c: round(n / clean, 5) for c, n in per_check.items()},
            "false_alarm_rows": per_check, "clean_rows": clean,
            "any_new_check_false_alarm_rate": round(flagged / clean, 5), "min_recall": min(recall.values())}


def _alpaca(params: AuditParams) -> tuple[Path, dict[str, Any]]:
    """Per-row check counts on the original Alpaca file, five examples each."""
    path = realdata_dir() / "dedup" / "alpaca_cleaning" / "alpaca_data_original_first2000.json"
    records = load_records(path)
    result = run_audit(records, params=params, progress=False)
    out: dict[str, Any] = {"rows": len(records), "counts": {}, "examples": {}}
    for check in builtin_checks():
        rows = sorted({r.index for f in result.findings if f.check == check.name for r in f.refs})
        out["counts"][check.name] = len(rows)
        out["examples"][check.name] = [
            {"index": i, "prompt": records[i].prompt[:160], "response": records[i].response[:160]}
            for i in rows[:5]]
    return path, out


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
    # Set C's clean rows are pool rows A (eval + train) and B do not use.
    used = args.eval_rows + args.train_rows + args.train_rows // 4
    clean_c = range(used, min(used + args.train_rows // 2, len(pool)))
    set_c = build_set_c(pool, clean_c, per_class=args.per_class, seed=args.seed + 2)
    timings: dict[str, float] = {}
    results: dict[str, tuple[AuditResult, AuditResult]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode, params in (("ours", AuditParams()), ("anchor", AuditParams(workers=1)),
                             ("default_weights", AuditParams(lsh_weights=(0.5, 0.5)))):
            res_a, sec_a = _audit(set_a, Path(tmp), "a", mmlu, params)
            res_b, sec_b = _audit(set_b, Path(tmp), "b", None, params)
            results[mode] = (res_a, res_b)
            timings[mode] = sec_a + sec_b
        res_c, _ = _audit(set_c, Path(tmp), "c", None, AuditParams())
        trips = {"set_a": round_trip(Path(tmp) / "a_train.jsonl", Path(tmp) / "a_eval.jsonl", {"mmlu": mmlu},
                                     AuditParams(), Path(tmp) / "trip_a")}
        alpaca_path, alpaca = _alpaca(AuditParams())
        trips["alpaca"] = round_trip(alpaca_path, None, None, AuditParams(), Path(tmp) / "trip_alpaca")
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
                     "c_train": len(set_c.train), "mmlu_docs": len(mmlu)},
            "synthetic": _synthetic([(set_a, results["ours"][0]), (set_b, results["ours"][1])],
                                    (set_c, res_c)),
            "round_trip": trips, "alpaca": alpaca}
