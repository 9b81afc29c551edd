"""The signature stage gives the same result inline, in a process pool, and on (local) Ray."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from harness.audit import AuditParams, run_audit
from harness.audit.executors import FieldJob, run_scans
from harness.audit.scan import ScanSpec
from harness.data import RecordFile, load_records
from harness.errors import DataError


def scan_all(texts: list[str], **kw: object) -> dict:
    jobs = [FieldJob("a", texts, ScanSpec(collect_ngram=13)), FieldJob("b", texts[::-1], ScanSpec())]
    return run_scans(jobs, **kw)  # type: ignore[arg-type]


def assert_same(x: dict, y: dict) -> None:
    for name in x:
        assert np.array_equal(x[name].keys, y[name].keys)
        assert np.array_equal(x[name].words, y[name].words)
        assert np.array_equal(x[name].sig, y[name].sig)
    assert np.array_equal(x["a"].grams[0], y["a"].grams[0])
    assert np.array_equal(x["a"].grams[1], y["a"].grams[1])


def test_pool_equals_inline(alpaca_pairs: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.audit.executors as executors
    import harness.audit.scan as scan

    monkeypatch.setattr(scan, "CHUNK_ROWS", 16)  # many chunks, so the pool really splits the work
    monkeypatch.setattr(executors, "POOL_MIN_CHARS", 0)  # and a pool even for this little text
    texts = [p + "\n" + r for p, r in alpaca_pairs]
    seen: list[int] = []
    pooled = scan_all(texts, workers=2, advance=seen.append)
    assert sum(seen) == 2 * len(texts) and len(seen) > 4
    assert_same(scan_all(texts, workers=1), pooled)


def test_audit_same_with_one_or_two_workers(alpaca_pairs: list[tuple[str, str]],
                                            records_of: Callable) -> None:
    pairs = [*alpaca_pairs[:100], alpaca_pairs[3]]
    one = run_audit(records_of(pairs), records_of(alpaca_pairs[100:120]),
                    params=AuditParams(workers=1), progress=False)
    two = run_audit(records_of(pairs), records_of(alpaca_pairs[100:120]),
                    params=AuditParams(workers=2), progress=False)
    assert one.findings == two.findings and one.findings


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")
def test_ray_equals_inline(alpaca_pairs: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    import harness.audit.scan as scan

    monkeypatch.setattr(scan, "CHUNK_ROWS", 50)
    texts = [p + "\n" + r for p, r in alpaca_pairs]
    try:
        on_ray = scan_all(texts, executor="ray", workers=2)
    finally:
        ray.shutdown()
    assert_same(scan_all(texts, workers=1), on_ray)


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_audit_of_a_record_file_in_a_pool_equals_the_loaded_list(
        alpaca_pairs: list[tuple[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.audit.executors as executors
    import harness.audit.scan as scan

    monkeypatch.setattr(scan, "CHUNK_ROWS", 16)
    monkeypatch.setattr(executors, "POOL_MIN_CHARS", 0)
    rows = [{"instruction": p, "input": "", "output": r} for p, r in [*alpaca_pairs[:120], alpaca_pairs[5]]]
    train = _write(tmp_path / "train.jsonl", rows)
    evals = _write(tmp_path / "eval.jsonl", rows[100:121])
    loaded = run_audit(load_records(train), load_records(evals), params=AuditParams(workers=1),
                       progress=False)
    streamed = run_audit(RecordFile.open(train), RecordFile.open(evals), params=AuditParams(workers=2),
                         progress=False)
    assert streamed.findings == loaded.findings and loaded.findings
    assert [c.params for c in streamed.checks] == [c.params for c in loaded.checks]


def test_a_pool_reports_the_first_bad_row_of_the_file(alpaca_pairs: list[tuple[str, str]], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.audit.executors as executors
    import harness.audit.scan as scan

    monkeypatch.setattr(scan, "CHUNK_ROWS", 8)
    monkeypatch.setattr(executors, "POOL_MIN_CHARS", 0)
    rows = [{"instruction": p, "input": "", "output": r} for p, r in alpaca_pairs[:100]]
    path = _write(tmp_path / "train.jsonl", rows)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[90] = '{"instruction": 1, "output": "x"}'  # a later chunk fails too, and may finish first
    lines[41] = '{"instruction": oops}'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        run_audit(RecordFile.open(path), params=AuditParams(workers=2), progress=False)
    assert f"{path}:42: malformed JSON" in str(err.value)
