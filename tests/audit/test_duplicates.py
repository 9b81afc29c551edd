"""Exact and near duplicates within a split: planted in real Alpaca rows, found at the right indices."""

from __future__ import annotations

from collections.abc import Callable

from harness.audit import AuditParams, run_audit
from harness.results import AuditResult, Finding


def findings(result: AuditResult, check: str) -> list[Finding]:
    return [f for f in result.findings if f.check == check]


def refs(f: Finding) -> list[tuple[str, int]]:
    return [(r.split, r.index) for r in f.refs]


def test_exact_and_normalized_duplicates_cluster(alpaca_pairs: list[tuple[str, str]], records_of: Callable,
                                                 params: AuditParams) -> None:
    pairs = list(alpaca_pairs[:40])
    p, r = pairs[5]
    pairs.append((p, r))  # 40: exact copy of 5
    pairs.append(("  " + p.upper() + "\n", r.replace(" ", "  ").upper()))  # 41: case/whitespace variant of 5
    q, s = pairs[7]
    pairs.append((q.replace("a", "ａ"), s))  # 42: fullwidth 'a' (NFKC) variant of 7
    result = run_audit(records_of(pairs), params=params, progress=False)
    dups = findings(result, "exact_duplicates")
    assert sorted(refs(f) for f in dups) == [[("train", 5), ("train", 40), ("train", 41)],
                                             [("train", 7), ("train", 42)]]
    first = next(f for f in dups if f.details["size"] == 3)
    assert first.severity == "warning"
    assert [m["index"] for m in first.details["members"]] == [5, 40, 41]
    assert all(len(m["text"]) <= 300 for m in first.details["members"])
    assert not findings(result, "near_duplicates")  # exact copies are not reported twice


def test_near_duplicates_cluster_with_jaccard(alpaca_pairs: list[tuple[str, str]], records_of: Callable,
                                              params: AuditParams) -> None:
    pairs = list(alpaca_pairs[:60])
    base = max(range(60), key=lambda i: len(pairs[i][1].split()))
    p, r = pairs[base]
    words = r.split(" ")
    words[len(words) // 3] = "rephrased"
    pairs.append((p, " ".join(words)))  # 60
    words[2 * len(words) // 3] = "again"
    pairs.append((p, " ".join(words)))  # 61: near both
    result = run_audit(records_of(pairs), params=params, progress=False)
    near = findings(result, "near_duplicates")
    assert len(near) == 1
    assert refs(near[0]) == [("train", base), ("train", 60), ("train", 61)]
    assert 0.8 <= near[0].details["jaccard"] <= near[0].details["jaccard_max"] < 1
    assert {(p["a"], p["b"]) for p in near[0].details["pairs"]} >= {(base, 60), (60, 61)}
    run = next(c for c in result.checks if c.check == "near_duplicates")
    assert run.params["threshold"] == 0.8 and run.params["bands"] * run.params["rows"] <= 128


def test_clean_real_rows_have_no_duplicates(alpaca_pairs: list[tuple[str, str]], records_of: Callable,
                                            params: AuditParams) -> None:
    result = run_audit(records_of(alpaca_pairs), params=params, progress=False)
    assert not findings(result, "exact_duplicates")
    assert not findings(result, "near_duplicates")


def test_threshold_is_a_parameter(alpaca_pairs: list[tuple[str, str]], records_of: Callable) -> None:
    pairs = list(alpaca_pairs[:30])
    p, r = pairs[0]
    words = (p + " " + r).split()
    half = " ".join(words[: len(words) * 3 // 4]) + " totally different ending here now"
    pairs.append((half, ""))
    strict = run_audit(records_of(pairs), params=AuditParams(workers=1), progress=False)
    loose = run_audit(records_of(pairs), params=AuditParams(workers=1, near_duplicate_threshold=0.3),
                      progress=False)
    assert not findings(strict, "near_duplicates")
    assert [refs(f) for f in findings(loose, "near_duplicates")] == [[("train", 0), ("train", 30)]]


def test_a_large_cluster_lists_max_members_and_counts_the_rest(alpaca_pairs: list[tuple[str, str]],
                                                               records_of: Callable) -> None:
    pairs = list(alpaca_pairs[:20]) + [alpaca_pairs[3]] * 9  # a cluster of 10 rows: 3 and 20..28
    result = run_audit(records_of(pairs), params=AuditParams(workers=1, max_members=4), progress=False)
    (cluster,) = findings(result, "exact_duplicates")
    assert [m["index"] for m in cluster.details["members"]] == [3, 20, 21, 22]
    assert cluster.details["members_left_out"] == 6 and len(cluster.refs) == 10
    assert "rows 3, 20, 21, 22, 23, ..." in cluster.message
