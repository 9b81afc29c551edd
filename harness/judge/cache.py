"""The verdict cache: every judge answer persisted the moment it arrives (SQLite, WAL).

Keyed by :func:`verdict_key` (backend, model identity, rubric version and
content hash, the rendered prompt, and the inputs), so a killed run resumes
without paying for any judgement twice. Only answers with a readable verdict are
stored: an unparseable answer or a failure never is, so a rerun asks again (and
an unparseable answer an older version stored is not trusted on read). Nothing
here holds a key or a base URL.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from harness.errors import JudgeError
from harness.io import sha256_text
from harness.sqlite import open_store, select_in

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
        # autocommit: every put is its own committed transaction (a verdict is paid for once)
        self._db = open_store(self.path, SCHEMA, JudgeError, "judge cache", isolation_level=None)

    def get_many(self, keys: list[str]) -> dict[str, CachedVerdict]:
        query = "SELECT key, text, input_tokens, output_tokens FROM verdicts WHERE key IN ({marks})"
        rows = select_in(self._db, query, keys)
        return {key: CachedVerdict(text, t_in, t_out) for key, text, t_in, t_out in rows}

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
