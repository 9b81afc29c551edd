"""Writing a cleaned copy: the kept rows' own bytes, atomically, into a folder the clean owns.

Every file is written to a hidden temporary file beside it (``.<name>.<random>.tmp``),
flushed to disk and renamed into place, so a killed clean leaves each output
either absent, or as it was, or whole; ``clean.json`` is renamed last. A later
clean removes temporaries a killed one left (files, and the folder of part
files a clean on Ray writes, :mod:`harness.audit.ray_clean`). The folder must be empty unless
``force`` is given (then only the clean's own files are replaced) or it holds
nothing but an earlier clean's own files (``clean.json`` names them), which a
rerun replaces.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol

import numpy as np

from harness.data.spans import RowSpans
from harness.errors import ConfigError

_TEMP = re.compile(r"^\.(?:train|eval)\.[\w.]+\.tmp$|^\.(?:removed\.jsonl|clean\.json)\.\w+\.tmp$")
_BATCH = 1 << 22  # bytes gathered before one write call


def prepare_folder(out: Path, force: bool, inputs: Iterable[Path] = (), outputs: Iterable[Path] = ()) -> None:
    """Refuse a folder holding files (unless ``force``) or an output that is an input; clear stale temps."""
    if out.exists() and not out.is_dir():
        raise ConfigError("the clean output is a file, not a folder", path=out)
    clash = {Path(p).resolve() for p in inputs} & {Path(p).resolve() for p in outputs}
    if clash:
        raise ConfigError(f"the cleaned copy would overwrite its input {sorted(map(str, clash))[0]}",
                          path=out, hint="write it to another folder")
    if not out.exists():
        return
    for stale in out.iterdir():
        if _TEMP.match(stale.name):  # what a killed clean left behind: never a finished file
            if stale.is_dir():  # the part files of a clean written on a Ray cluster
                shutil.rmtree(stale, ignore_errors=True)
            elif stale.is_file():
                stale.unlink(missing_ok=True)
    held = sorted(p.name for p in out.iterdir())
    if held and not force and not _previous_clean(out, held):
        shown = ", ".join(held[:3]) + (", ..." if len(held) > 3 else "")
        raise ConfigError(f"the clean output folder holds {len(held)} file(s) ({shown})", path=out,
                          hint="pass --force to write into it anyway")


def _previous_clean(out: Path, held: list[str]) -> bool:
    """The folder holds a finished clean's own files and nothing else: a rerun may replace them."""
    if "clean.json" not in held:
        return False
    try:
        manifest = json.loads((out / "clean.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    ours = {"clean.json", manifest.get("removed_file", "removed.jsonl")}
    ours |= {s.get("output") for s in manifest.get("splits", {}).values() if isinstance(s, dict)}
    return isinstance(manifest.get("version"), int) and set(held) <= ours


class AtomicFile:
    """A file written under a temporary name and renamed into place on success; hashes what it writes.

    Large blocks are hashed on a thread while the next one is written (hashlib and file writes let
    go of the GIL): sha256 of a 500 MB cleaned file took longer than writing it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        self.fh = os.fdopen(fd, "wb")
        self.sha = hashlib.sha256()
        self.size = 0
        self._hashing: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None  # at most one block hashing: memory stays bounded

    def write(self, data: bytes) -> None:
        self._hashed()
        if len(data) >= _BATCH:
            self._hashing = self._hashing or ThreadPoolExecutor(1, thread_name_prefix="sha256")
            self._pending = self._hashing.submit(self.sha.update, data)
        else:
            self.sha.update(data)
        self.fh.write(data)
        self.size += len(data)

    def _hashed(self) -> None:
        if self._pending is not None:
            self._pending.result()
            self._pending = None

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self._hashed()
        finally:
            if self._hashing is not None:
                self._hashing.shutdown()
        if kind is not None:
            self.fh.close()
            Path(self.tmp).unlink(missing_ok=True)
            return
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        os.chmod(self.tmp, 0o666 & ~_umask())
        os.replace(self.tmp, self.path)

    @property
    def digest(self) -> str:
        self._hashed()
        return self.sha.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@dataclass(frozen=True)
class CopyPlan:
    """A cleaned file as ``head``, then the input's bytes ``[starts[k], ends[k])`` in order, then ``tail``."""

    head: bytes
    starts: np.ndarray  # int64 byte offsets into the input
    ends: np.ndarray  # int64, exclusive
    tail: bytes


def _runs(kept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Firsts and lasts (inclusive) of the maximal runs of consecutive kept record numbers."""
    breaks = np.flatnonzero(np.diff(kept) != 1)
    return np.concatenate((kept[:1], kept[breaks + 1])), np.concatenate((kept[breaks], kept[-1:]))


def copy_plan(spans: RowSpans, kept: np.ndarray) -> CopyPlan:
    """The output's bytes for the rows ``kept`` (sorted record numbers): adjacent rows are one slice."""
    starts, ends = spans.starts, spans.ends
    none = np.zeros(0, np.int64)
    if not len(kept):
        return CopyPlan(spans.empty if spans.kind in ("json", "csv") else spans.head, none, none, b"")
    if spans.kind == "json":  # a run of consecutive elements is copied with its own separators
        firsts, lasts = _runs(kept)
        run_lo, run_hi = starts[firsts], ends[lasts]
        # The separator after each run but the last: from its end to the start of the next element.
        sep_lo, sep_hi = ends[lasts[:-1]], starts[lasts[:-1] + 1]
        lo, hi = np.empty(2 * len(firsts) - 1, np.int64), np.empty(2 * len(firsts) - 1, np.int64)
        lo[0::2], hi[0::2], lo[1::2], hi[1::2] = run_lo, run_hi, sep_lo, sep_hi
        return CopyPlan(spans.head, lo, hi, spans.tail)
    # Lines: consecutive rows are one slice unless blank lines (no rows) sit between them.
    joined = np.flatnonzero((np.diff(kept) != 1) | (ends[kept[:-1]] != starts[kept[1:]]))
    firsts = kept[np.concatenate(([0], joined + 1))]
    lasts = kept[np.concatenate((joined, [len(kept) - 1]))]
    return CopyPlan(spans.head, starts[firsts].astype(np.int64), ends[lasts].astype(np.int64), b"")


def _pieces(spans: RowSpans, plan: CopyPlan) -> Iterable[bytes]:
    data = spans.data
    yield plan.head
    for lo, hi in zip(plan.starts.tolist(), plan.ends.tolist(), strict=True):
        yield bytes(data[lo:hi])
    yield plan.tail


def _batched(pieces: Iterable[bytes]) -> Iterable[bytes]:
    buf: list[bytes] = []
    size = 0
    for piece in pieces:
        buf.append(piece)
        size += len(piece)
        if size >= _BATCH:
            yield b"".join(buf)
            buf, size = [], 0
    if buf:
        yield b"".join(buf)


class RangeWriter(Protocol):
    """Writes a :class:`CopyPlan` of ``source`` into ``out`` elsewhere (e.g. on a Ray cluster)."""

    def __call__(self, plan: CopyPlan, source: Path, out: AtomicFile) -> None: ...


def write_rows(spans: RowSpans, kept: np.ndarray, path: Path, writer: RangeWriter | None = None) -> str:
    """Write the rows ``kept`` (sorted record numbers) of ``spans`` to ``path``; the sha256 written.

    ``writer``: who copies the byte ranges (default: this process, from the mapped input).
    """
    if spans.kind == "parquet":
        return _write_parquet(spans.path, kept, path)
    plan = copy_plan(spans, kept)
    with AtomicFile(path) as out:
        if writer is None:
            for block in _batched(_pieces(spans, plan)):
                out.write(block)
        else:
            writer(plan, spans.path, out)
    return out.digest


def _write_parquet(source: Path, kept: np.ndarray, path: Path) -> str:
    """The kept rows, same schema and compression, through pyarrow (written whole, then renamed)."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(source).metadata
    codec = meta.row_group(0).column(0).compression.lower() if meta.num_row_groups and meta.num_columns \
        else "snappy"
    table = pq.read_table(source).take(kept)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression=codec)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        digest = _sha_file(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return digest


def _sha_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def write_lines(path: Path, lines: Sequence[bytes]) -> str:
    with AtomicFile(path) as out:
        for block in _batched(lines):
            out.write(block)
    return out.digest
