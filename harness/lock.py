"""One writer per output folder: an advisory lock the harness holds while a command writes into it.

``output_lock(out)`` takes an exclusive ``flock`` on ``out/.harness.lock`` and writes
who holds it (pid, host, start time, command). A second harness on the same
folder is refused at once with one line naming the holder: two runs would both
retrain every trial and pay the judges twice. The kernel drops the lock when its
process dies, however it dies, so a lock left by a killed run is stale by
construction: the next run takes it over (the file's old contents only name who
held it last). Within one process the lock is re-entrant (``run_suite`` holds it
while the sweep and the audit take it again).

Creating the lock file is also the first write into the folder, so a folder that
cannot be written fails here, before any work, in one line.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from harness.errors import HarnessError

LOCK_FILE = ".harness.lock"
_held: dict[str, tuple[IO[str], int]] = {}  # resolved folder -> (open lock file, depth)


class LockedError(HarnessError):
    """Another process holds the output folder's lock."""


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not isinstance(info, dict) or "pid" not in info:
        return "another process (it has not written its name yet)"
    return (f"pid {info.get('pid')} on {info.get('host', '?')}, started {info.get('started', '?')}"
            f" ({info.get('command', '?')})")


def _open(out: Path) -> IO[str]:
    try:
        out.mkdir(parents=True, exist_ok=True)
        # O_NOFOLLOW: a lock file planted as a link cannot make the harness write elsewhere.
        fd = os.open(out / LOCK_FILE, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        return os.fdopen(fd, "r+", encoding="utf-8")
    except OSError as exc:
        raise HarnessError(f"{exc.filename or out}: cannot write to the output folder: {exc.strerror}",
                           hint="pass --out to a folder you can write") from None



def _acquire(out: Path, command: str) -> IO[str]:
    import fcntl

    fh = _open(out)
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise LockedError(f"{out}: in use by {_holder(out / LOCK_FILE)}",
                          hint="wait for it to finish, or pass another --out") from None
    info = {"pid": os.getpid(), "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": command}
    fh.seek(0)
    fh.truncate()
    fh.write(json.dumps(info))
    fh.flush()
    return fh


@contextmanager
def output_lock(out: str | Path, command: str | None = None) -> Iterator[None]:
    """Hold ``out``'s lock for the block; re-entrant within a process; LockedError if another holds it.

    ``command``: what the holder is doing, for the refusal message (default: the program's name).
    """
    out = Path(out)
    if "\0" in str(out):  # no folder can have it (and realpath raises ValueError on it)
        raise HarnessError(f"{str(out)!r}: cannot write to the output folder: the name holds a NUL character",
                           hint="pass --out to a folder you can write")
    key = os.path.realpath(out)
    fh, depth = _held.get(key, (None, 0))
    if fh is None:
        fh = _acquire(out, command or Path(sys.argv[0]).name)
    _held[key] = (fh, depth + 1)
    try:
        yield
    finally:
        fh, depth = _held[key]
        if depth > 1:
            _held[key] = (fh, depth - 1)
        else:
            del _held[key]
            fh.close()  # closing drops the flock; the file stays (its contents name the last holder)


__all__ = ["LOCK_FILE", "LockedError", "output_lock"]
