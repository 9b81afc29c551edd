"""The verdict cache: every judge answer persisted the moment it arrives (SQLite, WAL).

Keyed by :func:`verdict_key` (backend, model, rubric version and content hash,
the rendered prompt, and the inputs), so a killed run resumes without paying
for any judgement twice. Only answers are stored, unparseable ones included
(they were paid for); failures never are, so a rerun asks again. Nothing here
holds a key or a base URL.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from harness.errors import JudgeError
from harness.io import sha256_text

SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    key TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    model TEXT NOT NULL,
    rubric TEXT NOT NULL,
    text TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    created REAL NOT NULL
)
"""
KEY_VERSION = "judge-verdict-v1"


@dataclass(frozen=True, slots=True)
class CachedVerdict:
    text: str
    input_tokens: int
    output_tokens: int


def verdict_key(*, backend: str, model: str, rubric: str, rubric_version: int, rubric_hash: str,
                system: str, user: str, max_tokens: int, inputs: dict[str, str | None]) -> str:
    return sha256_text(KEY_VERSION, backend, model, rubric, str(rubric_version), rubric_hash,
                       str(max_tokens), system, user, json.dumps(inputs, sort_keys=True))


class VerdictCache:
    """One SQLite file; safe to share between processes (WAL, busy timeout)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL: a committed verdict survives a killed process (not a power cut), at a
            # fraction of FULL's fsync cost per verdict.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise JudgeError(f"{self.path}: cannot open the judge cache: {exc}",
                             hint="delete the file to start a fresh cache") from None

    def get_many(self, keys: list[str]) -> dict[str, CachedVerdict]:
        found: dict[str, CachedVerdict] = {}
        for start in range(0, len(keys), 500):  # SQLite caps the number of bound parameters
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, text, input_tokens, output_tokens FROM verdicts WHERE key IN ({marks})", chunk)
            for key, text, tokens_in, tokens_out in rows:
                found[key] = CachedVerdict(text, tokens_in, tokens_out)
        return found

    def put(self, key: str, *, backend: str, model: str, rubric: str, text: str, input_tokens: int,
            output_tokens: int) -> None:
        """Store one answer and commit it before returning."""
        self._db.execute(
            "INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key, backend, model, rubric, text, input_tokens, output_tokens, time.time()))

    def __len__(self) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM verdicts").fetchone()
        return int(row[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> VerdictCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
