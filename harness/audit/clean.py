"""``clean_dataset``: audit, drop what the policy says, re-audit, and write the cleaned copy with a manifest.

Writes into ``out`` (a folder that must be empty unless ``force``):

* ``train.<ext>`` (and ``eval.<ext>`` when the policy cleans eval): the input's
  own format and layout, every kept row byte for byte, in order;
* ``removed.jsonl``: one line per dropped row (:class:`RemovedRow`);
* ``clean.json``: :class:`CleanReport` (``version`` 1), written last.

With ``policy.verify`` the kept rows are audited again with the same
settings, and rows the new audit flags for a dropped check are dropped too,
until an audit finds none (``verified``) or ``max_passes`` audits ran.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from harness.audit.benchmarks import BenchmarkDoc
from harness.audit.clean_plan import Plan, Removal, plan
from harness.audit.clean_policy import CleanPolicy
from harness.audit.clean_write import RangeWriter, prepare_folder, write_lines, write_rows
from harness.audit.executors import resolve_workers
from harness.audit.gc_pause import gc_paused
from harness.audit.lsh import jaccard, shingle_sets
from harness.audit.params import AuditParams
from harness.audit.reuse import AuditCache
from harness.data.loaders import load_records
from harness.data.record import Record
from harness.data.record_file import RecordFile
from harness.data.spans import KINDS, RowSpans, jsonl_spans, row_spans
from harness.io import sha256_file
from harness.results import AuditResult, Split

CLEAN_VERSION = 1


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RemovedRow(_Frozen):
    """One line of ``removed.jsonl``."""

    split: Split
    index: int  # 0-based record number in the input
    line: int  # 1-based line where the record starts (Parquet: row number)
    checks: list[str]
    partner: dict[str, Any] | None = None  # split, index, line, similarity (+ how, benchmark, id)
    more_partners: int = 0


class SplitClean(_Frozen):
    input: str
    sha256_in: str
    rows_in: int
    rows_out: int
    removed: int
    output: str | None = None  # None: this split was not rewritten
    sha256_out: str | None = None


class CleanReport(_Frozen):
    """``clean.json``."""

    version: int = CLEAN_VERSION
    policy: dict[str, Any]
    dropped_checks: list[str]
    counts: dict[str, int]  # rows removed per check (a row may count for several)
    splits: dict[str, SplitClean]
    removed_file: str = "removed.jsonl"
    removed_sha256: str = ""
    audits: int  # audits run: the first plus the verification passes
    verified: bool | None  # the last audit found nothing of a dropped check in what is kept (None: not run)
    left: dict[str, int] = Field(default_factory=dict)  # findings of dropped checks the last audit still had
    seconds: float = 0.0

    def summary(self, folder: str | Path) -> str:
        """One line for the terminal: kept rows, removals by check, the verification."""
        train = self.splits["train"]
        ranked = sorted(self.counts.items(), key=lambda kv: -kv[1])
        why = ", ".join(f"{c} {n}" for c, n in ranked) or "nothing"
        state = {True: "verified: no finding of a dropped check is left",
                 False: f"NOT verified: the last audit still found {self.left}",
                 None: "not re-audited"}[self.verified]
        return (f"clean: kept {train.rows_out} of {train.rows_in} train rows ({train.removed} removed: "
                f"{why}) -> {folder} ({state}; {self.audits} audit(s))")


def _kept(records: Sequence[Record], gone: set[int]) -> Sequence[Record]:
    if isinstance(records, RecordFile):  # a file's records by position: a subset, nothing parsed
        keep = ~np.isin(records.indices, np.fromiter(gone, dtype=np.int64, count=len(gone)))
        return records.subset(np.flatnonzero(keep))
    return [r for r in records if r.index not in gone]


class _ByIndex(Mapping[int, Record]):
    """A RecordFile's records by their number, parsed when asked for (a report names a few)."""

    def __init__(self, records: RecordFile) -> None:
        self.records = records

    def __getitem__(self, index: int) -> Record:
        pos = int(np.searchsorted(self.records.indices, index))
        if pos >= len(self.records) or int(self.records.indices[pos]) != index:
            raise KeyError(index)
        return self.records[pos]

    def __iter__(self) -> Iterator[int]:
        return iter(self.records.indices.tolist())

    def __len__(self) -> int:
        return len(self.records)


class _Lengths(Mapping[int, int]):
    """Each record's text length in characters, computed for the records asked about."""

    def __init__(self, by_index: Mapping[int, Record]) -> None:
        self.by_index = by_index

    def __getitem__(self, index: int) -> int:
        return len(self.by_index[index].text)

    def __iter__(self) -> Iterator[int]:
        return iter(self.by_index)

    def __len__(self) -> int:
        return len(self.by_index)


def by_index(records: Sequence[Record] | None) -> Mapping[int, Record]:
    """Records by ``Record.index``; a RecordFile's are not parsed until one is asked for."""
    if isinstance(records, RecordFile):
        return _ByIndex(records)
    return {r.index: r for r in records or []}


def _left(result: AuditResult, policy: CleanPolicy) -> dict[str, int]:
    dropped = set(policy.dropped())
    counts: dict[str, int] = {}
    for f in result.findings:
        if f.check in dropped and any(r.split == "train" or (r.split == "eval" and policy.cleans_eval)
                                      for r in f.refs):
            counts[f.check] = counts.get(f.check, 0) + 1
    return counts


class _Auditor:
    """Runs the audit with fixed settings on whatever rows are kept."""

    def __init__(self, benchmarks: Mapping[str, Sequence[BenchmarkDoc]] | None, params: AuditParams,
                 tokenizer: Any, progress: bool, cache: AuditCache | None = None) -> None:
        self.benchmarks, self.params, self.tokenizer, self.progress = benchmarks, params, tokenizer, progress
        self.cache = cache or AuditCache()  # re-audits of kept rows reuse the first audit's scans

    def __call__(self, train: Sequence[Record], evals: Sequence[Record] | None,
                 only: Sequence[str] | None = None) -> AuditResult:
        """The audit of these rows; ``only``: just these checks (a verifying pass needs the dropped ones)."""
        from harness.audit.runner import run_audit

        params = self.params if only is None else self.params.model_copy(update={"only_checks": tuple(only)})
        return run_audit(train, evals, benchmarks=self.benchmarks, params=params,
                         tokenizer=self.tokenizer, progress=self.progress, cache=self.cache)


def _converge(first: AuditResult, audit: _Auditor, train: Sequence[Record], evals: Sequence[Record] | None,
              policy: CleanPolicy) -> tuple[Plan, int, dict[str, int] | None]:
    """Drops of the first audit, then of re-audits of what is kept, until one finds nothing to drop.

    Returns the drops, the audits run, and what the last audit still found of the
    dropped checks (``None`` when not verified).
    """
    lengths: dict[Split, Mapping[int, int]] = {"train": _Lengths(by_index(train)),
                                               "eval": _Lengths(by_index(evals))}
    total = plan(first, policy, lengths)
    if not total.removals:  # nothing to drop: the audit itself is the check
        return total, 1, _left(first, policy)
    if not policy.verify:
        return total, 1, None
    audits, left = 1, None
    while audits < policy.max_passes:
        kept_eval = _kept(evals, total.dropped("eval")) if evals is not None and policy.cleans_eval else evals
        again = audit(_kept(train, total.dropped("train")), kept_eval, only=policy.dropped())
        audits += 1
        left = _left(again, policy)
        if not left:
            break
        total.merge(plan(again, policy, lengths))
    return total, audits, left


def _similarities(removals: list[Removal], records: Mapping[Split, Mapping[int, Record]],
                  benchmarks: Mapping[str, Sequence[BenchmarkDoc]], shingle: int) -> list[float | None]:
    """Exact Jaccard of word shingle sets between each dropped row and its partner (one vectorized batch)."""
    texts: list[str] = []
    pairs: list[tuple[int, int] | None] = []
    docs = {name: {d.index: d for d in items} for name, items in benchmarks.items()}
    for r in removals:
        p = r.partner
        other = None
        if p is not None and p.get("split") in ("train", "eval"):
            rec = records[p["split"]].get(p["index"])
            other = rec.text if rec is not None else None
        elif p is not None and p.get("split") == "benchmark":
            doc = docs.get(str(p.get("benchmark")), {}).get(p.get("index"))  # type: ignore[arg-type]
            other = doc.text if doc is not None else None
        if other is None:
            pairs.append(None)
            continue
        texts += [records[r.split][r.index].text, other]
        pairs.append((len(texts) - 2, len(texts) - 1))
    sets = shingle_sets(texts, shingle) if texts else []
    return [None if ab is None else round(jaccard(sets[ab[0]], sets[ab[1]]), 4) for ab in pairs]


def _removed_lines(total: Plan, records: Mapping[Split, Mapping[int, Record]],
                   spans: Mapping[Split, RowSpans | None], benchmarks: Mapping[str, Sequence[BenchmarkDoc]],
                   shingle: int) -> list[RemovedRow]:
    removals = sorted(total.removals.values(), key=lambda r: (r.split != "train", r.index))
    similar = _similarities(removals, records, benchmarks, shingle)
    out = []
    for r, sim in zip(removals, similar, strict=True):
        partner = dict(r.partner) if r.partner is not None else None
        if partner is not None:
            if partner.get("split") in ("train", "eval"):
                side = partner["split"]
                partner["line"] = _line(spans.get(side), records[side], partner["index"])
            if not partner.get("how"):
                partner.pop("how", None)
            partner["similarity"] = sim
        line = _line(spans.get(r.split), records[r.split], r.index)
        out.append(RemovedRow(split=r.split, index=r.index, line=line, checks=r.checks, partner=partner,
                              more_partners=r.more_partners))
    return out


def _spans(path: Path, records: Sequence[Record]) -> RowSpans:
    """Where each record lies in ``path``: a whole JSONL file's index says it already."""
    if isinstance(records, RecordFile) and KINDS.get(path.suffix.lower()) == "jsonl" and \
            Path(records.path).resolve() == path.resolve() and \
            np.array_equal(records.indices, np.arange(len(records))):  # (a ParquetRecords has no lines)
        return jsonl_spans(path, records.starts, records.ends, records.lines)
    return row_spans(path, len(records))


def _line(spans: RowSpans | None, records: Mapping[int, Record], index: int) -> int:
    if spans is not None and 0 <= index < len(spans):
        return int(spans.lines[index])
    rec = records.get(index)
    return int(rec.line) if rec is not None and rec.line is not None else index + 1


def _writer(params: AuditParams) -> RangeWriter | None:
    """On Ray the kept rows' bytes are copied by the cluster (:mod:`harness.audit.ray_clean`)."""
    if params.executor != "ray":
        return None
    from harness.audit.ray_clean import RayWriter  # Ray is imported only when asked for

    return RayWriter(resolve_workers(params.workers), params.ray_address)


def destination(out: str | Path, train: str | Path, eval: str | Path | None, policy: CleanPolicy,
                force: bool) -> dict[Split, Path]:
    """The files a clean into ``out`` writes, per split; refuses a folder that holds files (ConfigError)."""
    folder = Path(out)
    paths: dict[Split, Path] = {"train": Path(train), **({"eval": Path(eval)} if eval is not None else {})}
    written = {s: folder / f"{s}{p.suffix.lower()}" for s, p in paths.items()
               if s == "train" or policy.cleans_eval}
    prepare_folder(folder, force, paths.values(), [*written.values(), folder / "removed.jsonl",
                                                   folder / "clean.json"])
    return written


def _hashed_aside(paths: Mapping[Split, Path], aside: bool) -> dict[Split, Future[str]]:
    """Each input's sha256; with ``aside`` on a thread while the clean audits and writes (hashlib
    lets go of the GIL): hashing a 500 MB input took the parent 0.8 s the idle second core can take."""
    pool = ThreadPoolExecutor(1, thread_name_prefix="sha256")
    futures = {split: pool.submit(sha256_file, path) for split, path in paths.items()}
    pool.shutdown(wait=not aside)  # the thread ends after the last file
    return futures


@gc_paused()
def clean_dataset(train: str | Path, eval: str | Path | None = None, *, out: str | Path, fmt: str = "auto",
                  benchmarks: Mapping[str, Sequence[BenchmarkDoc]] | None = None,
                  params: AuditParams | None = None, policy: CleanPolicy | None = None,
                  tokenizer: Any = None, force: bool = False,
                  audit: AuditResult | None = None, train_records: Sequence[Record] | None = None,
                  eval_records: Sequence[Record] | None = None, progress: bool = False,
                  cache: AuditCache | None = None) -> CleanReport:
    """Audit ``train`` (and ``eval``), drop what ``policy`` says, write the cleaned copy into ``out``.

    ``audit``/``train_records``/``eval_records`` skip work already done (they
    must come from these files and these ``params``); ``cache``, the one that
    audit filled, lets the re-audits of the kept rows skip the scan.
    """
    start = time.perf_counter()
    policy, params, folder = policy or CleanPolicy(), params or AuditParams(), Path(out)
    paths: dict[Split, Path] = {"train": Path(train), **({"eval": Path(eval)} if eval is not None else {})}
    written = destination(folder, train, eval, policy, force)
    rows: dict[Split, Sequence[Record]] = {"train": train_records or load_records(paths["train"], fmt)}
    if "eval" in paths:
        rows["eval"] = eval_records or load_records(paths["eval"], fmt)
    spans: dict[Split, RowSpans] = {s: _spans(p, rows[s]) for s, p in paths.items()}
    auditor = _Auditor(benchmarks, params, tokenizer, progress, cache)
    first = audit or auditor(rows["train"], rows.get("eval"))
    # The re-audits reuse the first audit's scans (no worker is forked beside the hashing thread)
    # unless an audit came without the cache it filled.
    hashes = _hashed_aside(paths, audit is None or cache is not None)
    total, audits, left = _converge(first, auditor, rows["train"], rows.get("eval"), policy)
    indexed: dict[Split, Mapping[int, Record]] = {s: by_index(recs) for s, recs in rows.items()}
    indexed.setdefault("eval", {})
    removed = _removed_lines(total, indexed, spans, benchmarks or {}, params.shingle_size)
    folder.mkdir(parents=True, exist_ok=True)
    writer = _writer(params)
    splits = {}
    for split, path in paths.items():
        gone = total.dropped(split)
        keep = np.ones(len(rows[split]), dtype=bool)  # a mask: setdiff1d sorts a million rows
        keep[np.fromiter(gone, dtype=np.int64, count=len(gone))] = False
        kept = np.flatnonzero(keep)
        digest = write_rows(spans[split], kept, written[split], writer) if split in written else None
        splits[split] = SplitClean(input=str(path), sha256_in=hashes[split].result(),
                                   rows_in=len(rows[split]), rows_out=len(kept), removed=len(gone),
                                   output=written[split].name if split in written else None,
                                   sha256_out=digest)
    removed_sha = write_lines(folder / "removed.jsonl",
                              [(r.model_dump_json() + "\n").encode("utf-8") for r in removed])
    counts: dict[str, int] = {}
    for r in removed:
        for c in r.checks:
            counts[c] = counts.get(c, 0) + 1
    report = CleanReport(policy=policy.model_dump(mode="json"), dropped_checks=list(policy.dropped()),
                         counts=counts, splits=splits, removed_sha256=removed_sha, audits=audits,
                         verified=None if left is None else not left, left=left or {},
                         seconds=round(time.perf_counter() - start, 3))
    manifest = json.dumps(report.model_dump(mode="json"), indent=2).encode() + b"\n"
    write_lines(folder / "clean.json", [manifest])
    return report
