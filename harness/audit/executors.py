"""Run the signature stage over cores: inline, a local process pool, or Ray tasks.

Work is cut into chunks of rows (:func:`harness.audit.scan.chunk_bounds`); at
most ``2 * workers`` chunks are in flight, so memory stays bounded however
large the input. The scan specs (which may carry a large gram index) and the
texts reach each worker once: through the pool initializer (copy-on-write
under fork, so a task is just a row range), or ``ray.put`` for the specs.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Literal

from harness.audit.scan import FieldScan, ScanSpec, chunk_bounds, merge_scans, scan_chunk
from harness.errors import HarnessError

Executor = Literal["local", "ray"]
Advance = Callable[[int], None]


@dataclass(frozen=True)
class FieldJob:
    """One field of one split to scan (e.g. ``train.response``)."""

    name: str
    texts: Sequence[str]
    spec: ScanSpec


@dataclass(frozen=True)
class _Task:
    name: str
    lo: int
    hi: int


_SPECS: dict[str, ScanSpec] = {}
_TEXTS: dict[str, Sequence[str]] = {}


def _init_worker(specs: dict[str, ScanSpec], texts: dict[str, Sequence[str]]) -> None:
    # Under fork these arrive by copy-on-write, not pickling: a task then only names its rows.
    _SPECS.clear()
    _SPECS.update(specs)
    _TEXTS.clear()
    _TEXTS.update(texts)


def _work(name: str, lo: int, hi: int) -> tuple[str, int, FieldScan]:
    return name, lo, scan_chunk(_TEXTS[name][lo:hi], _SPECS[name], lo)


def resolve_workers(workers: int | None) -> int:
    return max(1, workers if workers is not None else (os.cpu_count() or 1))


def run_scans(jobs: Sequence[FieldJob], *, executor: Executor = "local", workers: int | None = None,
              advance: Advance | None = None) -> dict[str, FieldScan]:
    """Scan every job's texts; returns each field's merged :class:`FieldScan`."""
    specs = {job.name: job.spec for job in jobs}
    texts = {job.name: job.texts for job in jobs}
    tasks = [_Task(job.name, lo, hi) for job in jobs for lo, hi in chunk_bounds(job.texts)]
    n = resolve_workers(workers)
    if executor == "ray":
        results = list(_ray(tasks, texts, specs, n, advance))
    elif n == 1 or len(tasks) <= 1:
        results = list(_inline(tasks, texts, specs, advance))
    else:
        results = list(_pool(tasks, texts, specs, n, advance))
    by_field: dict[str, list[tuple[int, FieldScan]]] = {job.name: [] for job in jobs}
    for name, lo, scan in results:
        by_field[name].append((lo, scan))
    return {name: merge_scans([s for _, s in sorted(parts, key=lambda p: p[0])], specs[name])
            for name, parts in by_field.items()}


def _inline(tasks: list[_Task], texts: dict[str, Sequence[str]], specs: dict[str, ScanSpec],
            advance: Advance | None) -> Iterator[tuple[str, int, FieldScan]]:
    for t in tasks:
        yield t.name, t.lo, scan_chunk(texts[t.name][t.lo:t.hi], specs[t.name], t.lo)
        if advance:
            advance(t.hi - t.lo)


def _pool(tasks: list[_Task], texts: dict[str, Sequence[str]], specs: dict[str, ScanSpec], n: int,
          advance: Advance | None) -> Iterator[tuple[str, int, FieldScan]]:
    # fork shares the parent's memory (no re-import, no pickled specs); elsewhere use the default.
    ctx = mp.get_context("fork") if sys.platform.startswith("linux") else mp.get_context()
    with ProcessPoolExecutor(n, mp_context=ctx, initializer=_init_worker, initargs=(specs, texts)) as pool:
        pending: dict[Future[tuple[str, int, FieldScan]], _Task] = {}
        queue = list(reversed(tasks))
        while queue or pending:
            while queue and len(pending) < 2 * n:
                t = queue.pop()
                pending[pool.submit(_work, t.name, t.lo, t.hi)] = t
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                t = pending.pop(fut)
                yield fut.result()
                if advance:
                    advance(t.hi - t.lo)


def _ray_available() -> Any:
    try:
        import ray
    except ImportError:
        raise HarnessError("executor 'ray' needs Ray", hint="pip install 'finetune-harness[ray]'") from None
    return ray


def _ray_scan(specs: dict[str, ScanSpec], name: str, texts: list[str], lo: int) -> tuple[str, int, FieldScan]:
    return name, lo, scan_chunk(texts, specs[name], lo)


def _ray(tasks: list[_Task], texts: dict[str, Sequence[str]], specs: dict[str, ScanSpec], n: int,
         advance: Advance | None) -> Iterator[tuple[str, int, FieldScan]]:
    ray = _ray_available()
    if not ray.is_initialized():
        # A local instance unless RAY_ADDRESS points at a cluster; no dashboard, quiet workers.
        ray.init(num_cpus=n, include_dashboard=False, log_to_driver=False,
                 ignore_reinit_error=True, configure_logging=False)
    remote = ray.remote(num_cpus=1)(_ray_scan)
    specs_ref = ray.put(specs)  # shipped once, not once per task
    pending: dict[Any, _Task] = {}
    queue = list(reversed(tasks))
    while queue or pending:
        while queue and len(pending) < 2 * n:
            t = queue.pop()
            pending[remote.remote(specs_ref, t.name, list(texts[t.name][t.lo:t.hi]), t.lo)] = t
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            t = pending.pop(ref)
            yield ray.get(ref)
            if advance:
                advance(t.hi - t.lo)
