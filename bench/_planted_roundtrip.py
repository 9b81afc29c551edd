"""The clean round trip: clean a file, audit the cleaned copy again, compare rows byte for byte.

For one train file (and an eval file, and benchmarks): ``clean_dataset`` with
the default policy, then a fresh audit of the written ``train.<ext>`` with the
same settings (the count of findings of every dropped check must be 0),
every kept row's bytes against its bytes in the input, a partner named for
every dropped duplicate, leak and contamination, and a second clean of the
cleaned copy (it must drop nothing and write the same bytes).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.audit import AuditParams, BenchmarkDoc, run_audit
from harness.audit.clean import clean_dataset
from harness.data import load_records
from harness.data.spans import row_spans

PAIRED = {"exact_duplicates", "near_duplicates", "leakage", "contamination", "semantic_duplicates",
          "semantic_leakage"}


def _row_bytes(path: Path, rows: int) -> list[bytes]:
    spans = row_spans(path, rows)
    return [bytes(spans.data[a:b]) for a, b in zip(spans.starts.tolist(), spans.ends.tolist(), strict=True)]


def round_trip(train: Path, evals: Path | None, benchmarks: dict[str, Sequence[BenchmarkDoc]] | None,
               params: AuditParams, folder: Path) -> dict[str, Any]:
    report = clean_dataset(train, evals, out=folder / "clean", benchmarks=benchmarks, params=params)
    cleaned = folder / "clean" / f"train{train.suffix.lower()}"
    after = run_audit(load_records(cleaned), load_records(evals) if evals else None, benchmarks=benchmarks,
                      params=params, progress=False)
    removed = [json.loads(line) for line in (folder / "clean" / "removed.jsonl").read_text().splitlines()]
    gone = {r["index"] for r in removed if r["split"] == "train"}
    split = report.splits["train"]
    original = _row_bytes(train, split.rows_in)
    kept = [b for i, b in enumerate(original) if i not in gone]
    identical = kept == _row_bytes(cleaned, split.rows_out)
    paired = [r for r in removed if PAIRED & set(r["checks"])]
    again = clean_dataset(cleaned, evals, out=folder / "again", benchmarks=benchmarks, params=params)
    twice = (folder / "again" / cleaned.name).read_bytes() == cleaned.read_bytes()
    return {"rows_in": split.rows_in, "rows_out": split.rows_out, "removed": split.removed,
            "removed_by_check": report.counts, "audits": report.audits, "verified": report.verified,
            "findings_left_after_clean": {c: after.count(check=c) for c in report.dropped_checks},
            "kept_rows_byte_identical": identical,
            "dropped_with_partner": f"{sum(1 for r in paired if r['partner'])}/{len(paired)}",
            "second_clean_removed": again.splits["train"].removed, "second_clean_same_bytes": twice}
