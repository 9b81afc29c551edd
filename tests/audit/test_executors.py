"""The signature stage gives the same result inline, in a process pool, and on (local) Ray."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import numpy as np
import pytest

from harness.audit import AuditParams, run_audit
from harness.audit.executors import FieldJob, run_scans
from harness.audit.scan import ScanSpec


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
    import harness.audit.scan as scan

    monkeypatch.setattr(scan, "CHUNK_ROWS", 16)  # many chunks, so the pool really splits the work
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
