"""The clean write on a Ray cluster (``executor="ray"``; Ray is imported only then).

:class:`RayWriter` copies a :class:`harness.audit.clean_write.CopyPlan` (the
kept rows' byte ranges of the input) through Ray Data: the ranges are cut into
parts of about ``PART_BYTES`` output bytes (:func:`split_parts`), a dataset of
one row per part goes through ``map_batches``, and each task reads its part's
ranges from the input file itself and writes them to a part file in a
temporary folder beside the output (``.<name>.<random>.tmp``, which a later
clean clears if this one is killed). The driver then appends the parts, in
order, to the output's temporary file with a bounded buffer; the output is
renamed into place by its :class:`harness.audit.clean_write.AtomicFile`, and the
part folder is removed, also on failure. The bytes are the local writer's.
The cluster's nodes must see the input and the output folder at the same paths.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.audit.clean_write import AtomicFile, CopyPlan
from harness.errors import HarnessError

PART_BYTES = 1 << 26  # output bytes per part file: few parts, each a short sequential copy
READ_BYTES = 1 << 22  # the most bytes one read or one driver append holds


def split_parts(starts: np.ndarray, ends: np.ndarray, size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The ranges ``[starts, ends)`` cut into parts of ``size`` output bytes (the last shorter);
    a range that crosses a part's end is split there."""
    keep = ends > starts
    starts, ends = starts[keep].astype(np.int64), ends[keep].astype(np.int64)
    if not len(starts):
        return []
    lengths = ends - starts
    out_end = np.cumsum(lengths)
    out_start = out_end - lengths
    cuts = np.arange(size, int(out_end[-1]), size, dtype=np.int64)
    bounds = np.union1d(out_start, cuts)  # where each output piece begins
    owner = np.searchsorted(out_end, bounds, side="right")  # the range each piece lies in
    piece_end = np.minimum(out_end[owner], np.append(bounds[1:], out_end[-1]))
    lo = starts[owner] + (bounds - out_start[owner])
    hi = lo + (piece_end - bounds)
    part = bounds // size
    firsts = np.flatnonzero(np.diff(part, prepend=-1))
    return [(lo[a:b], hi[a:b]) for a, b in zip(firsts.tolist(), [*firsts[1:].tolist(), len(part)],
                                                   strict=True)]


def _copy(source: Path, lo: np.ndarray, hi: np.ndarray, target: Path) -> int:
    """Copy the ranges of ``source`` to ``target``; the bytes written."""
    written = 0
    with open(source, "rb") as src, open(target, "wb") as dst:
        for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
            src.seek(a)
            while a < b:
                block = src.read(min(READ_BYTES, b - a))
                if not block:
                    raise HarnessError(f"{source} is shorter than when the audit read it")
                dst.write(block)
                a += len(block)
                written += len(block)
    return written


def write_parts(batch: dict[str, np.ndarray], source: str, folder: str) -> dict[str, np.ndarray]:
    """Ray Data task: each part's ranges of ``source`` into ``folder/<part>``."""
    sizes = []
    for part, lo, hi in zip(batch["part"].tolist(), batch["lo"].tolist(), batch["hi"].tolist(), strict=True):
        ranges = (np.frombuffer(lo, np.int64), np.frombuffer(hi, np.int64))
        sizes.append(_copy(Path(source), *ranges, Path(folder) / f"{part:08d}"))
    return {"part": batch["part"], "size": np.array(sizes, dtype=np.int64)}


def _append(out: AtomicFile, part: Path) -> None:
    with open(part, "rb") as fh:
        while block := fh.read(READ_BYTES):
            out.write(block)


@dataclass(frozen=True)
class RayWriter:
    """A :class:`harness.audit.clean_write.RangeWriter` that copies the ranges on a Ray cluster."""

    workers: int
    address: str | None = None
    part_bytes: int | None = None  # None: PART_BYTES

    def __call__(self, plan: CopyPlan, source: Path, out: AtomicFile) -> None:
        from harness.audit.ray_audit import connect

        parts = split_parts(plan.starts, plan.ends, self.part_bytes or PART_BYTES)
        folder = Path(tempfile.mkdtemp(prefix=f".{out.path.name}.", suffix=".tmp", dir=out.path.parent))
        try:
            sizes = self._write(connect(self.address, self.workers), parts, source, folder)
            expected = [int((hi - lo).sum()) for lo, hi in parts]
            if sizes != expected:
                raise HarnessError(f"the cluster wrote {sum(sizes)} bytes of the cleaned copy of {source}, "
                                   f"not {sum(expected)}")
            out.write(plan.head)
            for part in range(len(parts)):
                _append(out, folder / f"{part:08d}")
            out.write(plan.tail)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _write(self, ray: Any, parts: list[tuple[np.ndarray, np.ndarray]], source: Path,
               folder: Path) -> list[int]:
        if not parts:
            return []
        items = [{"part": k, "lo": lo.tobytes(), "hi": hi.tobytes()} for k, (lo, hi) in enumerate(parts)]
        ds = ray.data.from_items(items, override_num_blocks=len(items))
        done = ds.map_batches(write_parts, fn_args=(str(source), str(folder)), batch_size=None,
                              num_cpus=1, batch_format="numpy")
        sizes = dict(_sizes(done))
        return [sizes.get(k, -1) for k in range(len(parts))]


def _sizes(ds: Any) -> Iterator[tuple[int, int]]:
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
        yield from zip(batch["part"].tolist(), batch["size"].tolist(), strict=True)
