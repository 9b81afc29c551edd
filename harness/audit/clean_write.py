"""Writing a cleaned copy: the kept rows' own bytes, atomically, into a folder the clean owns.

Every file is written to a hidden temporary file beside it (``.<name>.<random>.tmp``),
flushed to disk and renamed into place, so a killed clean leaves each output
either absent, or as it was, or whole; ``clean.json`` is renamed last. A later
clean removes temporaries a killed one left. The folder must be empty unless
``force`` is given (then only the clean's own files are replaced) or it holds
nothing but an earlier clean's own files (``clean.json`` names them), which a
rerun replaces.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

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
        if stale.is_file() and _TEMP.match(stale.name):
            stale.unlink(missing_ok=True)  # what a killed clean left behind: never a finished file
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
    """A file written under a temporary name and renamed into place on success; hashes what it writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        self.fh = os.fdopen(fd, "wb")
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.fh.write(data)
        self.sha.update(data)
        self.size += len(data)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
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
        return self.sha.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _runs(kept: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs ``[a, b]`` (inclusive) of consecutive kept record numbers."""
    if not len(kept):
        return []
    breaks = np.flatnonzero(np.diff(kept) != 1)
    firsts = np.concatenate(([kept[0]], kept[breaks + 1]))
    lasts = np.concatenate((kept[breaks], [kept[-1]]))
    return list(zip(firsts.tolist(), lasts.tolist(), strict=True))


def _pieces(spans: RowSpans, kept: np.ndarray) -> Iterable[bytes]:
    """The output's bytes: head, the kept rows' own bytes (adjacent rows copied as one slice), tail."""
    data, starts, ends = spans.data, spans.starts, spans.ends
    if not len(kept) and spans.kind in ("json", "csv"):
        yield spans.empty
        return
    yield spans.head
    if spans.kind == "json":  # a run of consecutive elements is copied with its own separators
        previous = None
        for a, b in _runs(kept):
            if previous is not None:
                yield bytes(data[ends[previous]:starts[previous + 1]])  # the separator after the previous run
            yield bytes(data[starts[a]:ends[b]])
            previous = b
        yield spans.tail
        return
    # Lines: consecutive rows are one slice unless blank lines (no rows) sit between them.
    joined = np.flatnonzero((np.diff(kept) != 1) | (ends[kept[:-1]] != starts[kept[1:]]))
    firsts = np.concatenate(([0], joined + 1))
    lasts = np.concatenate((joined, [len(kept) - 1]))
    for a, b in zip(kept[firsts].tolist(), kept[lasts].tolist(), strict=True):
        yield bytes(data[starts[a]:ends[b]])


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


def write_rows(spans: RowSpans, kept: np.ndarray, path: Path) -> str:
    """Write the rows ``kept`` (sorted record numbers) of ``spans`` to ``path``; the sha256 written."""
    if spans.kind == "parquet":
        return _write_parquet(spans.path, kept, path)
    with AtomicFile(path) as out:
        for block in _batched(_pieces(spans, kept)):
            out.write(block)
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
