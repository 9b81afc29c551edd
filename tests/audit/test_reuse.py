"""Re-auditing a subset of the train rows from the first audit's scans equals auditing that subset afresh."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from harness.audit import AuditParams, BenchmarkDoc, run_audit
from harness.audit.reuse import AuditCache
from harness.data import RecordFile
from harness.data.record import Record
from harness.results import AuditResult


def _write(path: Path, pairs: list[tuple[str, str]]) -> Path:
    rows = [json.dumps({"instruction": p, "input": "", "output": r}) + "\n" for p, r in pairs]
    path.write_text("".join(rows), encoding="utf-8")
    return path


def _checks(result: AuditResult) -> list[tuple[str, int]]:
    return [(c.check, c.findings) for c in result.checks]


@pytest.mark.parametrize("as_file", [True, False])
def test_subset_from_the_cache_equals_a_fresh_audit(alpaca_pairs: list[tuple[str, str]],
                                                    records_of: Callable[..., list[Record]],
                                                    mmlu_docs: list[BenchmarkDoc], tmp_path: Path,
                                                    as_file: bool) -> None:
    pairs = [*alpaca_pairs[:120], alpaca_pairs[3], alpaca_pairs[7], (alpaca_pairs[9][0], ""),
             (alpaca_pairs[110][0], alpaca_pairs[110][1] + " Thanks.")]
    eval_pairs = [alpaca_pairs[5], *alpaca_pairs[150:170]]
    train: Sequence[Record]
    evals: Sequence[Record]
    if as_file:
        train = RecordFile.open(_write(tmp_path / "train.jsonl", pairs))
        evals = RecordFile.open(_write(tmp_path / "eval.jsonl", eval_pairs))
    else:
        train, evals = records_of(pairs), records_of(eval_pairs)
    params, benches = AuditParams(workers=1), {"mmlu": mmlu_docs}
    cache = AuditCache()
    first = run_audit(train, evals, benchmarks=benches, params=params, progress=False, cache=cache)
    keep = [i for i in range(len(pairs)) if i not in (3, 9, 60)]  # a duplicate, an empty target, a plain row
    subset = train.subset(np.array(keep)) if isinstance(train, RecordFile) else [train[i] for i in keep]
    again = run_audit(subset, evals, benchmarks=benches, params=params, progress=False, cache=cache)
    fresh = run_audit(subset, evals, benchmarks=benches, params=params, progress=False)
    assert "reused_scan" in again.summary["stages"] and "reused_scan" not in fresh.summary["stages"]
    assert again.findings == fresh.findings and again.findings != first.findings
    assert _checks(again) == _checks(fresh)


def test_the_cache_is_not_used_for_another_eval_split(alpaca_pairs: list[tuple[str, str]],
                                                      records_of: Callable[..., list[Record]]) -> None:
    train = records_of(alpaca_pairs[:60])
    cache = AuditCache()
    params = AuditParams(workers=1)
    run_audit(train, records_of(alpaca_pairs[100:110]), params=params, progress=False, cache=cache)
    other = run_audit(train[:50], records_of(alpaca_pairs[100:105]), params=params, progress=False,
                      cache=cache)
    assert "reused_scan" not in other.summary["stages"]
    assert "reused_scan" not in run_audit(train[:50], None, params=params, progress=False,
                                          cache=cache).summary["stages"]


def test_a_verifying_pass_runs_only_the_checks_it_names_and_still_reuses_the_scan(
        alpaca_pairs: list[tuple[str, str]], records_of: Callable[..., list[Record]]) -> None:
    pairs = [*alpaca_pairs[:80], alpaca_pairs[3], (alpaca_pairs[9][0], ""),
             (alpaca_pairs[20][0], "The answer stops here because the generator ran out of tokens and the")]
    train, params, cache = records_of(pairs), AuditParams(workers=1), AuditCache()
    full = run_audit(train, None, params=params, progress=False, cache=cache)
    only = params.model_copy(update={"only_checks": ("exact_duplicates", "empty_target")})
    narrow = run_audit(train, None, params=only, progress=False, cache=cache)
    assert "reused_scan" in narrow.summary["stages"]  # which checks run is not part of the scan's key
    ran = {c.check for c in narrow.checks}
    assert {"exact_duplicates", "empty_target"} <= ran and "cut_off_response" not in ran
    assert "cut_off_response" in {f.check for f in full.findings}  # the check skipped had something to say
    for check in ("exact_duplicates", "empty_target"):
        assert [f for f in narrow.findings if f.check == check] == \
            [f for f in full.findings if f.check == check]
