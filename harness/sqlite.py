"""The one way the harness opens its SQLite stores (score cache, judge verdicts): WAL, busy timeout.

WAL lets a second process read while one writes; ``synchronous=NORMAL`` keeps a
committed row through a killed process (not a power cut) at a fraction of FULL's
fsync cost per write. A file that is not a usable database is the caller's
one-line error, with a hint to delete it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

# SQLite caps the number of ``?`` parameters in one statement; stay well under it.
CHUNK = 500


def open_store(
    path: Path, schema: str, error: type[HarnessError], what: str, **connect: Any
) -> sqlite3.Connection:
    """Open (creating folder and tables) the SQLite file at ``path``; failures raise ``error``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite3.connect(str(path), timeout=30.0, **connect)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(schema)
    except sqlite3.DatabaseError as exc:
        raise error(f"{path}: not a usable {what}: {exc}", hint="delete the file to start afresh") from None
    return db


def select_in(db: sqlite3.Connection, query: str, keys: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    """Rows of ``query`` (with one ``{marks}`` placeholder for ``IN (...)``) over ``keys``, in chunks."""
    for start in range(0, len(keys), CHUNK):
        chunk = list(keys[start : start + CHUNK])
        yield from db.execute(query.format(marks=",".join("?" * len(chunk))), chunk)
