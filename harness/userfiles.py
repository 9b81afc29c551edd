"""User files: checked as a regular file (or the folder expected) of bounded size before anything reads them.

Every path a user names (suite, data, chat and serving templates, rubrics, judge
files, anchors, price tables, benchmark folders) passes through here: a FIFO would
hang its reader, ``/dev/zero`` would fill memory, a directory or a file that is not
UTF-8 would surface as an internal error. Each check raises a
:class:`~harness.errors.DataError` naming the file; callers that know a suite key
wrap it into a :class:`~harness.errors.ConfigError` naming the key
(:func:`for_key`).

Reads open the file non-blocking and check the opened descriptor itself (a FIFO
swapped in after a ``stat`` cannot hang the read), then read at most the limit plus
one byte (files whose size the kernel reports as 0, like ``/proc`` files, stay bounded).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from harness.errors import ConfigError, DataError

MiB = 1 << 20
GiB = 1 << 30
# The most bytes each kind of file may hold. Text the harness parses whole is small; datasets are
# streamed (JSONL) or parsed by libraries, so theirs only keeps devices and sparse giants out.
LIMITS: dict[str, int] = {
    "suite": 4 * MiB,
    "template": 4 * MiB,
    "rubric": MiB,
    "judge": MiB,
    "prices": MiB,
    "anchors": 256 * MiB,
    "data": 64 * GiB,
    "json data": 4 * GiB,
    "benchmark": 256 * MiB,  # all of MMLU's test CSVs are about 6 MiB
    "results": 256 * MiB,  # results.json, items.jsonl, lockfiles: parsed whole
}
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _size(n: int) -> str:
    return f"{n / GiB:.1f} GiB" if n >= GiB else f"{n / MiB:.1f} MiB" if n >= MiB else f"{n} bytes"


def _checked(path: Path, st: os.stat_result, what: str, limit: int) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise DataError(f"{what} is {_kind(st.st_mode)}, not a regular file", path=path)
    if st.st_size > limit:
        raise DataError(f"{what} is {_size(st.st_size)}, more than the {_size(limit)} allowed", path=path)


def _stat(path: Path, what: str) -> os.stat_result:
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise DataError(f"no such {what}", path=path) from None
    except OSError as exc:  # a name too long, a loop of links, no permission on a folder above
        raise DataError(f"cannot read {what}: {exc.strerror}", path=path) from None
    except ValueError:  # a NUL in the name: no file can have it
        raise DataError(f"no such {what} (the name holds a NUL character)", path=shown_name(path)) from None


def shown_name(path: Path) -> str:
    """A path for a message: NUL and control characters as escapes."""
    return repr(str(path))[1:-1]


def check_file(path: str | Path, what: str, *, kind: str = "data") -> Path:
    """``path`` is a regular file of at most ``LIMITS[kind]`` bytes (for files a library reads)."""
    p = Path(path)
    _checked(p, _stat(p, what), what, LIMITS[kind])
    return p


def check_dir(path: str | Path, what: str) -> Path:
    """``path`` is a folder."""
    p = Path(path)
    st = _stat(p, what)
    if not stat.S_ISDIR(st.st_mode):
        raise DataError(f"{what} is {_kind(st.st_mode) if not stat.S_ISREG(st.st_mode) else 'a file'}, "
                        "not a folder", path=p)
    return p


def read_bytes(path: str | Path, what: str, *, kind: str) -> bytes:
    """The bytes of a regular file of at most ``LIMITS[kind]`` bytes; never blocks, never reads more."""
    p = Path(path)
    limit = LIMITS[kind]
    _stat(p, what)  # the missing-file message, before opening
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise DataError(f"cannot read {what}: {exc.strerror}", path=p) from None
    try:
        _checked(p, os.fstat(fd), what, limit)  # the opened file itself: no FIFO swapped in after a stat
    except DataError:
        os.close(fd)
        raise
    try:
        with os.fdopen(fd, "rb") as fh:
            data = _read_at_most(fh, limit + 1)
    except OSError as exc:  # EIO and the like: a file the kernel will not read out
        raise DataError(f"cannot read {what}: {exc.strerror or exc}", path=p) from None
    if len(data) > limit:
        raise DataError(f"{what} is more than the {_size(limit)} allowed", path=p)
    return data


def _read_at_most(fh: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes, in chunks: ``read(n)`` would allocate all ``n`` up front."""
    chunks, left = [], n
    while left > 0 and (chunk := fh.read(min(left, 8 * MiB))):
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_text(path: str | Path, what: str, *, kind: str) -> str:
    """:func:`read_bytes`, decoded as UTF-8 (a leading byte-order mark dropped)."""
    data = read_bytes(path, what, kind=kind)
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(f"{what} is not UTF-8 text (byte {exc.start + 1})", path=path, line=line) from None


def for_key(exc: DataError, *, suite: str | Path, key: str) -> ConfigError:
    """A file problem found through a suite key, as the suite's error naming that key."""
    return ConfigError(str(exc), path=suite, key=key)


__all__ = ["LIMITS", "check_dir", "check_file", "for_key", "read_bytes", "read_text"]
