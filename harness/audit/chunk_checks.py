"""Per-row audit checks whose verdicts depend on each row alone (``scope="row"``), run by the scan workers.

Each chunk of rows the scan parses is also handed, as a
:class:`harness.audit.rows.Rows` view of that chunk (its records, prompts,
responses, word counts and exact keys), to every such check; hits come back
with split-wide positions, and the parent only turns them into findings
(:mod:`harness.audit.row_checks`). So the checks run on every core, and a large
file is not parsed again for them. A check's statistics are added up over the
chunks: numbers add, mappings of numbers add key by key (and are ordered by
value, largest first, as ``Counter.most_common`` orders them); any other
value is the first chunk's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.audit.checks import AuditCheck
from harness.audit.rows import CheckOutput, Hit, Rows
from harness.audit.scan import FieldScan
from harness.data.record import Record
from harness.errors import HarnessError
from harness.results import Finding


@dataclass(frozen=True)
class ChunkResult:
    """One check's hits over some rows (positions split-wide) and the statistics of each chunk."""

    hits: list[Hit | Finding] = field(default_factory=list)
    stats: list[Mapping[str, Any]] = field(default_factory=list)

    @property
    def merged_stats(self) -> dict[str, Any]:
        return merge_stats(self.stats)


def call(check: AuditCheck, rows: Rows, values: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """Run ``check``; a failure other than a HarnessError is one naming the check and the split."""
    try:
        out = check.fn(rows, values)
        if isinstance(out, CheckOutput):
            return list(out.hits), dict(out.stats)
        return list(out), {}
    except HarnessError:
        raise
    except Exception as exc:  # a user's check failing is an error naming it, not a crash of the audit
        raise HarnessError(f"audit check {check.name!r} failed on the {rows.split} split: "
                           f"{type(exc).__name__}: {exc}") from exc


def run_on_chunk(checks: Sequence[tuple[AuditCheck, dict[str, Any]]], split: Any, records: Sequence[Record],
                 texts: Mapping[str, list[str]], scans: Mapping[str, FieldScan], offset: int,
                 tokenizer: Any = None) -> dict[str, ChunkResult]:
    """Every check on one chunk, whose first row is row ``offset`` of its split."""
    if not checks:
        return {}
    rows = Rows(split, records, prompts=texts["prompt"], responses=texts["response"], scans=scans,
                tokenizer=tokenizer)
    out = {}
    for check, values in checks:
        hits, stats = call(check, rows, values)
        moved: list[Hit | Finding] = []
        for hit in hits:
            if isinstance(hit, Hit):
                if not 0 <= int(hit.pos) < len(rows):
                    raise HarnessError(f"audit check {check.name!r} flagged position {hit.pos}, outside "
                                       f"the {len(rows)} rows it was given")
                hit = hit.at(int(hit.pos) + offset)
            moved.append(hit)
        out[check.name] = ChunkResult(moved, [stats] if stats else [])
    return out


def merge(parts: Sequence[Mapping[str, ChunkResult]]) -> dict[str, ChunkResult]:
    """The chunks' results in row order (``parts`` sorted by first row), per check."""
    out: dict[str, ChunkResult] = {}
    for part in parts:
        for name, result in part.items():
            into = out.setdefault(name, ChunkResult())
            into.hits.extend(result.hits)
            into.stats.extend(result.stats)
    return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def merge_stats(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if key not in out:
                out[key] = dict(value) if isinstance(value, Mapping) else value
            elif _number(value) and _number(out[key]):
                out[key] += value
            elif isinstance(value, Mapping) and isinstance(out[key], dict):
                for k, v in value.items():
                    out[key][k] = out[key][k] + v if _number(v) and _number(out[key].get(k)) else \
                        out[key].get(k, v)
    for key, value in out.items():
        if isinstance(value, dict) and value and all(_number(v) for v in value.values()):
            out[key] = dict(sorted(value.items(), key=lambda kv: kv[1], reverse=True))
    return out
