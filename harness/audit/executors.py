"""Run the signature stage over cores: inline, a local process pool, or Ray Data on a Ray cluster.

A job is a split's records (:class:`RowJob`, scanned by
:func:`harness.audit.rowscan.scan_rows`) or a list of texts (:class:`FieldJob`,
:func:`harness.audit.scan.scan_chunk`), cut into chunks of rows; at most
``2 * workers`` chunks are in flight, so memory stays bounded however large the
input. A job reaches each worker once: through the pool initializer
(copy-on-write under fork, so a task only names its rows; a
:class:`harness.data.record_file.RecordFile` is read and parsed by the worker
itself), or once per Ray Data actor. Small jobs run inline, where a pool
would cost more than it saves. Pool workers die with the audit: each asks the
kernel for SIGKILL when its parent exits (Linux ``PR_SET_PDEATHSIG``) and
checks that the parent is still there. The Ray path is :mod:`harness.audit.ray_audit`,
imported only when ``executor="ray"``.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from harness.audit import scan
from harness.audit.rowscan import RowCollector, RowScan, RowSpec, scan_rows
from harness.audit.scan import FieldScan, ScanSpec, chunk_sizes, merge_scans, scan_chunk
from harness.data.record import Record
from harness.data.record_file import RecordFile
from harness.errors import DataError

Executor = Literal["local", "ray"]
Advance = Callable[[int], None]
POOL_MIN_CHARS = 6_000_000  # less text than this runs inline: starting workers costs more than it saves
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class FieldJob:
    """One field's texts to scan (e.g. a benchmark's texts)."""

    name: str
    texts: Sequence[str]
    spec: ScanSpec


@dataclass(frozen=True)
class RowJob:
    """One split's records to scan (all three fields, and the per-row checks its spec names)."""

    name: str
    records: Sequence[Record]
    spec: RowSpec


Job = FieldJob | RowJob
Result = FieldScan | RowScan


@dataclass(frozen=True)
class _Task:
    name: str
    lo: int
    hi: int


@dataclass(frozen=True)
class _Failed:
    """A DataError raised in a worker, carried back as data (the exception does not pickle)."""

    message: str
    path: str
    line: int | None
    field: str | None
    hint: str | None

    def error(self) -> DataError:
        return DataError(self.message, path=self.path, line=self.line, field=self.field, hint=self.hint)


_JOBS: dict[str, Job] = {}


def die_with_parent(parent: int) -> None:
    """Ask the kernel to SIGKILL this process when its parent exits; exit now if it already has."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect (we were re-parented)
        os._exit(1)


def _init_worker(jobs: dict[str, Job], parent: int) -> None:
    die_with_parent(parent)
    # Under fork the jobs arrive by copy-on-write, not pickling: a task then only names its rows.
    _JOBS.clear()
    _JOBS.update(jobs)


def _scan_part(job: Job, rows: Sequence[Any], offset: int) -> Result | _Failed:
    """Scan ``rows`` (records or texts of ``job``), the first being row ``offset`` of the job."""
    try:
        if isinstance(job, RowJob):
            return scan_rows(rows, job.spec, offset)
        return scan_chunk(rows, job.spec, offset)
    except DataError as exc:  # a malformed row of a RecordFile, found when the worker parses it
        return _Failed(exc.message, exc.path, exc.line, exc.field, exc.hint)


def scan_range(job: Job, lo: int, hi: int) -> Result | _Failed:
    try:
        rows = job.records[lo:hi] if isinstance(job, RowJob) else job.texts[lo:hi]
    except DataError as exc:
        return _Failed(exc.message, exc.path, exc.line, exc.field, exc.hint)
    return _scan_part(job, rows, lo)


def _work(name: str, lo: int, hi: int) -> tuple[str, int, Result | _Failed]:
    return name, lo, scan_range(_JOBS[name], lo, hi)


def resolve_workers(workers: int | None) -> int:
    return max(1, workers if workers is not None else (os.cpu_count() or 1))


def _sizes(job: Job) -> np.ndarray:
    if isinstance(job, FieldJob):
        return np.fromiter(map(len, job.texts), dtype=np.int64, count=len(job.texts))
    if isinstance(job.records, RecordFile):
        return job.records.ends - job.records.starts
    return np.fromiter((sum(len(t.content) for t in r.turns) for r in job.records), dtype=np.int64,
                       count=len(job.records))


def run_jobs(jobs: Sequence[Job], *, executor: Executor = "local", workers: int | None = None,
             advance: Advance | None = None, address: str | None = None) -> dict[str, Result]:
    """Scan every job; returns each job's merged result (:class:`FieldScan` or :class:`RowScan`)."""
    by_name = {job.name: job for job in jobs}
    tasks, total = [], 0
    for job in jobs:
        sizes = _sizes(job)
        total += int(sizes.sum())
        tasks += [_Task(job.name, lo, hi) for lo, hi in chunk_sizes(sizes, scan.CHUNK_CHARS, scan.CHUNK_ROWS)]
    n = resolve_workers(workers)
    remotes: dict[str, Any] = {}  # on Ray: the splits whose record signatures stay in the cluster
    if executor == "ray":
        results = _ray(tasks, by_name, n, advance, address, remotes)
    elif n == 1 or len(tasks) <= 1 or total < POOL_MIN_CHARS:
        results = _inline(tasks, by_name, advance)
    else:
        results = _pool(tasks, by_name, n, advance)
    rows = {job.name: RowCollector(job.spec, len(job.records)) for job in jobs if isinstance(job, RowJob)}
    parts: dict[str, list[tuple[int, FieldScan]]] = {job.name: [] for job in jobs}
    for name, lo, result in results:
        if isinstance(result, RowScan):
            rows[name].add(lo, result)
        else:
            parts[name].append((lo, result))
    out: dict[str, Result] = {}
    for job in jobs:
        if isinstance(job, RowJob):
            out[job.name] = _with_remote(rows[job.name].result(), remotes.get(job.name))
        else:
            out[job.name] = merge_scans([r for _, r in sorted(parts[job.name], key=lambda p: p[0])], job.spec)
    return out


def _with_remote(scan: RowScan, remote: Any) -> RowScan:
    if remote is None:
        return scan
    record = replace(scan.fields["record"], sig=None, bands=None)  # they are in the cluster
    return replace(scan, fields={**scan.fields, "record": record}, remote=remote)


def run_scans(jobs: Sequence[FieldJob], *, executor: Executor = "local", workers: int | None = None,
              advance: Advance | None = None, address: str | None = None) -> dict[str, FieldScan]:
    """Scan every field job's texts; returns each field's merged :class:`FieldScan`."""
    out = run_jobs(jobs, executor=executor, workers=workers, advance=advance, address=address)
    return {name: r for name, r in out.items() if isinstance(r, FieldScan)}


def run_rows(job: RowJob, *, executor: Executor = "local", workers: int | None = None,
             advance: Advance | None = None, address: str | None = None) -> RowScan:
    result = run_jobs([job], executor=executor, workers=workers, advance=advance, address=address)[job.name]
    assert isinstance(result, RowScan)
    return result


Done = Iterator[tuple[str, int, Result]]


class _FirstError:
    """Keeps going until every chunk before a failed one is done, then raises the earliest failure,
    so the error names the first bad row of the file, as a sequential load would."""

    def __init__(self, tasks: list[_Task]) -> None:
        self.order = {(t.name, t.lo): k for k, t in enumerate(tasks)}
        self.failed: dict[int, _Failed] = {}

    def take(self, name: str, lo: int, result: Result | _Failed) -> Result | None:
        if isinstance(result, _Failed):
            self.failed[self.order[(name, lo)]] = result
            return None
        return result

    def stop_before(self) -> int:
        return min(self.failed) if self.failed else len(self.order)

    def raise_if_failed(self) -> None:
        if self.failed:
            raise self.failed[min(self.failed)].error()


def _inline(tasks: list[_Task], jobs: dict[str, Job], advance: Advance | None) -> Done:
    for t in tasks:
        result = scan_range(jobs[t.name], t.lo, t.hi)
        if isinstance(result, _Failed):
            raise result.error()
        yield t.name, t.lo, result
        if advance:
            advance(t.hi - t.lo)


def _pool(tasks: list[_Task], jobs: dict[str, Job], n: int, advance: Advance | None) -> Done:
    # fork shares the parent's memory (no re-import, no pickled jobs); elsewhere use the default.
    ctx = mp.get_context("fork") if sys.platform.startswith("linux") else mp.get_context()
    errors = _FirstError(tasks)
    with ProcessPoolExecutor(n, mp_context=ctx, initializer=_init_worker,
                             initargs=(jobs, os.getpid())) as pool:
        pending: dict[Future[tuple[str, int, Result | _Failed]], _Task] = {}
        queue = list(reversed(tasks))
        while queue or pending:
            while queue and len(pending) < 2 * n and errors.order[(queue[-1].name, queue[-1].lo)] < \
                    errors.stop_before():
                t = queue.pop()
                pending[pool.submit(_work, t.name, t.lo, t.hi)] = t
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                t = pending.pop(fut)
                result = errors.take(*fut.result())
                if result is not None:
                    yield t.name, t.lo, result
                if advance:
                    advance(t.hi - t.lo)
    errors.raise_if_failed()


def _ray(tasks: list[_Task], jobs: dict[str, Job], n: int, advance: Advance | None,
         address: str | None, remotes: dict[str, Any]) -> Done:
    from harness.audit.ray_audit import Raised, ray_scan  # Ray is imported only when asked for

    errors = _FirstError(tasks)
    rows = {(t.name, t.lo): t.hi - t.lo for t in tasks}
    for name, lo, result in ray_scan(tasks, jobs, n, address, remotes, scan_range):
        if isinstance(result, Raised):
            raise result.error()
        kept = errors.take(name, lo, result)
        if kept is not None:
            yield name, lo, kept
        if advance:
            advance(rows[(name, lo)])
    errors.raise_if_failed()
