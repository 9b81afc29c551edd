"""``run_audit``: scan the splits once, run every check, return a typed :class:`AuditResult`.

Order matters for speed: benchmark indexes are built first and the eval split
is scanned next (it is small, and its n-grams become an index), so that the
one pass over the large train split can probe both indexes while it computes
keys and signatures. Every check then reads those scans.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import numpy as np

from harness.audit.benchmarks import BenchmarkDoc
from harness.audit.contamination import BenchIndex, build_bench_index, contamination
from harness.audit.duplicates import NORMALIZATION, exact_duplicates
from harness.audit.evidence import CheckTimer
from harness.audit.executors import RowJob, resolve_workers, run_rows
from harness.audit.gc_pause import gc_paused
from harness.audit.inputs import check_inputs
from harness.audit.leakage import leakage, min_words
from harness.audit.lsh import band_table, lsh_params
from harness.audit.near_duplicates import lsh_settings, near_duplicates
from harness.audit.ngrams import GramIndex
from harness.audit.params import AuditParams
from harness.audit.reuse import AuditCache, Scanned
from harness.audit.row_checks import chunked_checks, run_row_checks
from harness.audit.rowscan import CrossProbe, RowSpec, gram_filters
from harness.audit.semantic import CHECKS as SEMANTIC_CHECKS
from harness.audit.semantic import run_semantic
from harness.audit.splits import FIELDS, SplitData, field_texts
from harness.audit.template_findings import CHECKS as TEMPLATE_CHECKS
from harness.audit.template_parity import CHECKS as PARITY_CHECKS
from harness.audit.template_parity import run_parity_audit
from harness.audit.templates_bridge import CHECK as TEMPLATES_CHECK
from harness.audit.templates_bridge import run_template_audit
from harness.data.record import Record
from harness.progress import Steps
from harness.results import AuditResult, Split

__all__ = ["AuditParams", "run_audit"]


def _spec(params: AuditParams, tokenizer: Any, **kw: Any) -> RowSpec:
    bands, rows = lsh_params(params.near_duplicate_threshold, params.num_perm, params.lsh_weights)
    return RowSpec(shingle_size=params.shingle_size, num_perm=params.num_perm, seed=params.seed, bands=bands,
                   band_rows=rows, row_checks=chunked_checks(params), tokenizer=tokenizer, **kw)


def _scan(split: Split, records: Sequence[Record], probes: dict[str, dict[str, GramIndex | BenchIndex]],
          spec: RowSpec, params: AuditParams, steps: Steps) -> Scanned:
    names = {f: list(probes.get(f, {})) for f in FIELDS}
    found = {f: tuple(p.grams.probe if isinstance(p, BenchIndex) else p.probe
                      for p in probes.get(f, {}).values()) for f in FIELDS}
    spec = replace(spec, split=split, probes=found, filters=gram_filters(found))
    advance = steps.task(f"scan {split} ({len(records)} rows x {len(FIELDS)} fields)", len(records))
    scan = run_rows(RowJob(split, records, spec), executor=params.executor, workers=params.workers,
                    advance=advance, address=params.ray_address)
    # The texts are made from the records when a check asks (a file's few rows parsed again).
    return Scanned(SplitData(split, records, field_texts(records), scan.fields, scan.checks, scan.remote),
                   names)


def _eval_indexes(scanned: Scanned,
                  params: AuditParams) -> tuple[dict[str, GramIndex], dict[str, GramIndex]]:
    """Per field: the eval rows' n-gram index, and the eligible eval rows' LSH band keys.

    The six indexes are built on two threads: their sorts and gathers are numpy's, which lets go of
    the GIL, and the train scan waits for them while the second core idles (2.5 s at 50k eval rows).
    """
    def grams(f: str) -> GramIndex:
        scan = scanned.data.scans[f]
        assert scan.grams is not None
        return GramIndex.build(scan.grams[0], scan.grams[1], scanned.data.size, (params.ngram,),
                               max_share=params.boilerplate_share, min_docs=params.boilerplate_min_rows)

    def bands(f: str) -> GramIndex:
        scan = scanned.data.scans[f]
        assert scan.bands is not None
        return band_table(scan.bands, np.flatnonzero(scan.words >= min_words(f, params)))

    with ThreadPoolExecutor(2, thread_name_prefix="eval-index") as pool:
        gram_jobs = {f: pool.submit(grams, f) for f in FIELDS}
        band_jobs = {f: pool.submit(bands, f) for f in FIELDS}
        return {f: j.result() for f, j in gram_jobs.items()}, {f: j.result() for f, j in band_jobs.items()}


def _scan_all(train: Sequence[Record], eval: Sequence[Record] | None,
              benchmarks: Mapping[str, Sequence[BenchmarkDoc]] | None, params: AuditParams, tokenizer: Any,
              steps: Steps, stages: dict[str, float]) -> tuple[Any, ...]:
    """Benchmark indexes, the eval scan and its indexes, then the train scan probing them."""
    t = time.perf_counter()
    benches = {name: build_bench_index(name, docs, params) for name, docs in (benchmarks or {}).items()}
    stages["benchmark_index"] = time.perf_counter() - t
    t = time.perf_counter()
    ev_spec = _spec(params, tokenizer, keep_bands=FIELDS, collect_ngram=params.ngram)
    ev = _scan("eval", eval, {"record": dict(benches)}, ev_spec, params, steps) if eval else None
    indexes, tables = _eval_indexes(ev, params) if ev else ({}, {})
    stages["scan_eval"] = time.perf_counter() - t
    t = time.perf_counter()
    probes: dict[str, dict[str, GramIndex | BenchIndex]] = {f: {} for f in FIELDS}
    for f in FIELDS:
        if f in indexes:
            probes[f]["eval"] = indexes[f]
    probes["record"].update(benches)
    cross = {f: CrossProbe(table.probe, min_words(f, params)) for f, table in tables.items()}
    tr_spec = _spec(params, tokenizer, keep_sig=("record",), cross=cross)
    tr = _scan("train", train, probes, tr_spec, params, steps)
    stages["scan_train"] = time.perf_counter() - t
    return benches, ev, indexes, tables, tr


@gc_paused()
def run_audit(train: Sequence[Record], eval: Sequence[Record] | None = None, *,
              benchmarks: Mapping[str, Sequence[BenchmarkDoc]] | None = None,
              params: AuditParams | None = None, tokenizer: Any = None,
              progress: bool = True, cache: AuditCache | None = None) -> AuditResult:
    """Run every check on ``train`` (and ``eval``, and ``benchmarks``); see ``harness.audit``.

    ``cache``: the first call fills it; a later call whose train rows are a subset of that
    call's (same eval, benchmarks, params, tokenizer) reuses its scans (:mod:`harness.audit.reuse`).
    """
    params = params or AuditParams()
    start = time.perf_counter()
    stages: dict[str, float] = {}
    timer = CheckTimer()
    with Steps(progress) as steps:
        key = AuditCache.key(params, benchmarks, tokenizer)
        reused = cache.reuse(key, train, eval) if cache is not None else None
        if reused is not None:
            (benches, ev, indexes, tables), tr = reused
            stages["reused_scan"] = 0.0
        else:
            benches, ev, indexes, tables, tr = _scan_all(train, eval, benchmarks, params, tokenizer, steps,
                                                         stages)
            if cache is not None:
                cache.store(key, train, eval, (benches, ev, indexes, tables), tr)
        check_inputs(timer, train, eval)
        _run_checks(timer, tr, ev, indexes, tables, benches, params, steps)
        run_row_checks(timer, _splits(tr, ev), params, tokenizer)
        steps.done("per-row checks")
        if params.runs(SEMANTIC_CHECKS):
            run_semantic(timer, tr.data, ev.data if ev else None, params)
        if params.runs(PARITY_CHECKS):
            run_parity_audit(timer, tokenizer, eval, params.max_findings_per_check)
        if params.runs([TEMPLATES_CHECK, *TEMPLATE_CHECKS]):
            run_template_audit(timer, tokenizer, train, params, steps)
    seconds = time.perf_counter() - start
    return AuditResult(findings=timer.findings, checks=timer.runs,
                       summary=_summary(timer, train, eval, benches, params, stages, seconds))


def _splits(tr: Scanned, ev: Scanned | None) -> list[SplitData]:
    return [tr.data] + ([ev.data] if ev else [])


def _run_checks(timer: CheckTimer, tr: Scanned, ev: Scanned | None, indexes: dict[str, GramIndex],
                tables: dict[str, GramIndex], benches: dict[str, BenchIndex], params: AuditParams,
                steps: Steps) -> None:
    splits = _splits(tr, ev)
    names = [s.split for s in splits]
    with timer.check("exact_duplicates", {"normalization": NORMALIZATION, "splits": names}) as found:
        for data in splits:
            found += exact_duplicates(data, params)
    steps.done("exact duplicates")
    near_params: dict[str, Any] = {**lsh_settings(params), "splits": names}
    with timer.check("near_duplicates", near_params) as found:
        for data in splits:
            result = near_duplicates(data, params)
            found += result.findings
            near_params[f"{data.split}_stats"] = result.stats
    steps.done("near duplicates")
    _leakage(timer, tr, ev, indexes, tables, params)
    steps.done("leakage")
    _contamination(timer, tr, ev, benches, params)
    steps.done("contamination")


def _leakage(timer: CheckTimer, tr: Scanned, ev: Scanned | None, indexes: dict[str, GramIndex],
             tables: dict[str, GramIndex], params: AuditParams) -> None:
    leak_params: dict[str, Any] = {
        "fields": list(FIELDS), "kinds": ["exact", "near_duplicate", "ngram"], "ngram": params.ngram,
        "tokens": "lowercase word tokens, punctuation stripped (GPT-3 appendix C)",
        "near_duplicate_threshold": params.near_duplicate_threshold,
        "min_field_words": params.min_field_words,
        "boilerplate": f"grams in more than max({params.boilerplate_min_rows}, "
                       f"{params.boilerplate_share:g} x rows) rows are ignored"}
    if ev is None:
        timer.skipped("leakage", "no eval set", leak_params)
        return
    with timer.check("leakage", leak_params) as found:
        hits = {f: tr.hits(f, "eval") for f in FIELDS}
        result = leakage(tr.data, ev.data, indexes, hits, tables, params)
        found += result.findings
        leak_params["stats"] = result.stats


def _contamination(timer: CheckTimer, tr: Scanned, ev: Scanned | None, benches: dict[str, BenchIndex],
                   params: AuditParams) -> None:
    info: dict[str, Any] = {"ngram": params.ngram, "part_words": params.benchmark_part_words,
                            "exact": "normalized prompt/response/record = normalized question or document"}
    if not benches:
        timer.skipped("contamination", "no benchmark given", info)
        return
    with timer.check("contamination", info) as found:
        per: dict[str, Any] = {}
        for name, bench in benches.items():
            per[name] = {"docs": len(bench.docs), "grams": len(bench.grams.keys),
                         "gram_lengths": list(bench.grams.probe.lengths)}
            for s in [tr] + ([ev] if ev else []):
                rows, stats = contamination(s.data, bench, s.hits("record", name), params)
                found += rows
                per[name][s.data.split] = stats
        info["benchmarks"] = per


def _summary(timer: CheckTimer, train: Sequence[Record], eval: Sequence[Record] | None,
             benches: dict[str, BenchIndex], params: AuditParams, stages: dict[str, float],
             seconds: float) -> dict[str, Any]:
    counts: dict[str, dict[str, int]] = {}
    for f in timer.findings:
        counts.setdefault(f.check, {"error": 0, "warning": 0, "info": 0})[f.severity] += 1
    severity = {s: sum(c[s] for c in counts.values()) for s in ("error", "warning", "info")}
    return {"rows": {"train": len(train), "eval": len(eval or [])},
            "benchmarks": {name: len(b.docs) for name, b in benches.items()},
            "counts": counts, "severity": severity, "checks_run": [c.check for c in timer.runs],
            "seconds": round(seconds, 3), "stages": {k: round(v, 3) for k, v in stages.items()},
            "executor": params.executor, "workers": resolve_workers(params.workers),
            "params": params.model_dump(mode="json"), **timer.extra_summary}
