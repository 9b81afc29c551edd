"""The audit's scan on a Ray cluster, through Ray Data (``--executor ray``; imported only then).

:func:`connect` joins the cluster (``ray_address``, else ``RAY_ADDRESS``, else
a local instance with one CPU per worker). :func:`ray_scan` runs the signature
stage (:mod:`harness.audit.executors` hands it the chunks of rows): a Ray
dataset of chunk descriptors (split, first row, end row) goes through
``map_batches`` on a pool of scan actors. Each actor receives the jobs once
(for a JSONL file: its path and line index, 24 bytes a row, never the rows;
for a file loaded whole: its records, put in the object store once) and for
each chunk reads and parses the file's bytes itself, normalizes, hashes,
signs, bands, probes the eval and benchmark gram indexes and runs the per-row
checks (:func:`harness.audit.rowscan.scan_rows`). The scan's output is
materialized in the object store (spilled to disk when it is full); the
driver reads the compact results back, one chunk at a time, into the same
collector the local executor fills, less the train split's record signatures
and LSH band keys, which stay in the cluster for the near-duplicate search
(:mod:`harness.audit.ray_lsh`). So the findings are the local executor's. A
malformed row is the same one-line error naming the file's first bad row.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.audit.rowscan import RowSpec
from harness.errors import HarnessError

Scan = Callable[[Any, int, int], Any]  # (job, first row, end row) -> the chunk's result
ACTOR_CHUNKS = 2  # chunks each actor may hold queued, so no actor waits for the next one


def ray_module() -> Any:
    try:
        import ray
        import ray.data  # Ray Data ships with ray[data]
    except ImportError:
        raise HarnessError("executor 'ray' needs Ray Data",
                           hint="pip install 'finetune-harness[ray]'") from None
    return ray


def connect(address: str | None, workers: int) -> Any:
    """``ray`` joined to the cluster at ``address`` (else ``RAY_ADDRESS``), or to a local instance."""
    ray = ray_module()
    if ray.is_initialized():
        return _quiet(ray)
    address = address or os.environ.get("RAY_ADDRESS") or None
    quiet = {"log_to_driver": False, "configure_logging": False, "ignore_reinit_error": True}
    try:
        if address:
            ray.init(address=address, **quiet)
        else:  # a local instance sized to the audit's workers; no dashboard
            ray.init(num_cpus=workers, include_dashboard=False, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise HarnessError(f"cannot join the Ray cluster at {address or 'a local instance'}: "
                           f"{' '.join(str(exc).split())[:300]}",
                           hint="check --ray-address / audit.ray_address / RAY_ADDRESS") from None
    return _quiet(ray)


def _quiet(ray: Any) -> Any:
    """No Ray Data progress bars or per-dataset log lines: the audit has its own progress."""
    context = getattr(getattr(ray, "data", None), "DataContext", None)
    if context is not None:
        ctx = context.get_current()
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    return ray


@dataclass(frozen=True)
class Raised:
    """A HarnessError raised in an actor, carried back as data (its subclasses do not all pickle)."""

    kind: str  # "data" or "other"
    message: str
    hint: str | None
    path: str = ""
    line: int | None = None
    field: str | None = None

    def error(self) -> HarnessError:
        from harness.errors import DataError

        if self.kind == "data":
            return DataError(self.message, path=self.path, line=self.line, field=self.field, hint=self.hint)
        return HarnessError(self.message, hint=self.hint)


def raised(exc: HarnessError) -> Raised:
    from harness.errors import DataError

    if isinstance(exc, DataError):
        return Raised("data", exc.message, exc.hint, exc.path, exc.line, exc.field)
    return Raised("other", exc.message, exc.hint)


def kept_in_cluster(job: Any) -> bool:
    """The train split's record signatures and band keys stay in the cluster (:mod:`ray_lsh` reads
    them there); the eval split's are small, and its indexes are built from them on the driver."""
    spec = job.spec
    return isinstance(spec, RowSpec) and spec.split == "train" and "record" in spec.keep_sig \
        and "record" in spec.keep_bands


def _split_off(result: Any) -> tuple[Any, bytes, bytes]:
    """The result less the record signatures and band keys, and those two as raw bytes."""
    record = result.fields["record"]
    light = dataclasses.replace(record, sig=None, bands=None)
    fields = {**result.fields, "record": light}
    return (dataclasses.replace(result, fields=fields), np.ascontiguousarray(record.sig).tobytes(),
            np.ascontiguousarray(record.bands).tobytes())


class ScanChunks:
    """A Ray Data actor: scans the chunks of rows named in each batch of descriptors."""

    def __init__(self, jobs: list[Any], scan: Scan) -> None:
        import ray

        self.jobs: Mapping[str, Any] = ray.get(jobs[0])  # nested in a list: the ref is not resolved for us
        self.scan = scan

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out: dict[str, list[Any]] = {"result": [], "sig": [], "bands": []}
        for name, lo, hi in zip(batch["name"].tolist(), batch["lo"].tolist(), batch["hi"].tolist(),
                                strict=True):
            job = self.jobs[name]
            try:
                result: Any = self.scan(job, lo, hi)
            except HarnessError as exc:  # a user's check failing: one line, as in the local executor
                result = raised(exc)
            sig = bands = b""
            if kept_in_cluster(job) and not isinstance(result, Raised) and hasattr(result, "fields"):
                result, sig, bands = _split_off(result)
            out["result"].append(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
            out["sig"].append(sig)
            out["bands"].append(bands)
        columns = {"name": batch["name"], "lo": batch["lo"], "hi": batch["hi"]}
        for key, values in out.items():
            column = np.empty(len(values), dtype=object)
            column[:] = values
            columns[key] = column
        return columns


def chunk_dataset(ray: Any, tasks: Sequence[Any]) -> Any:
    """One row per chunk, one block per chunk, so the actors share the chunks out evenly."""
    items = [{"name": t.name, "lo": t.lo, "hi": t.hi} for t in tasks]
    return ray.data.from_items(items, override_num_blocks=max(1, len(items)))


def ray_scan(tasks: Sequence[Any], jobs: Mapping[str, Any], workers: int, address: str | None,
             remotes: dict[str, Any], scan: Scan) -> Iterator[tuple[str, int, Any]]:
    """(split, first row, ``scan(job, lo, hi)``) per chunk; a failure is carried as data. ``remotes``
    receives a :class:`harness.audit.ray_lsh.RemoteSplit` per job whose record signatures stay in the
    cluster."""
    from harness.audit.ray_lsh import RemoteSplit
    from harness.audit.reuse import record_indices

    ray = connect(address, workers)
    if not tasks:
        return
    shared = ray.put(dict(jobs))  # once into the object store; each actor fetches it once
    # At most one actor per worker (fewer when the cluster has fewer CPUs free), none idle for want of chunks.
    pool = ray.data.ActorPoolStrategy(min_size=1, max_size=max(1, min(workers, len(tasks))),
                                      max_tasks_in_flight_per_actor=ACTOR_CHUNKS)
    scanned = chunk_dataset(ray, tasks).map_batches(
        ScanChunks, fn_constructor_args=([shared], scan), batch_size=None, compute=pool, num_cpus=1,
        batch_format="numpy").materialize()  # kept in the object store (spilled to disk when full)
    for name, job in jobs.items():
        if kept_in_cluster(job):
            mine = scanned if len(jobs) == 1 else scanned.filter(lambda r, name=name: r["name"] == name)
            remotes[name] = RemoteSplit(ray, mine, shared, name, len(job.records),
                                        record_indices(job.records), job.spec.bands, job.spec.num_perm,
                                        workers)
    for row in scanned.select_columns(["name", "lo", "result"]).iter_rows():
        yield str(row["name"]), int(row["lo"]), pickle.loads(row["result"])
