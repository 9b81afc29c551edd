"""Per-item score cache: content-hash keys and an SQLite store (WAL, one transaction per write).

lm-eval's own cache keys ignore the model (its issues #2715 and #4063): a rerun
with new weights can silently return old answers. Here every key is built from
*what produced* the value:

* the model: base weights hash (or hub id), quantization config and compute
  dtype, tokenizer files and the resolved chat template, and the adapter
  weights hash (``"none"`` for the base);
* the computation: its kind (``gen``, ``nll``, ``mmlu``) and its settings
  (generation config, max length, prompt format, lm-eval version...);
* the item's content hash and the scorer version.

Changing one byte of an adapter changes that adapter's hash, so only its keys
miss; the base and every other adapter still hit. Values are small JSON
objects. The store is safe against a kill (SQLite transactions) and against a
second process reading while one writes (WAL).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.io import sha256_text
from harness.sqlite import open_store, select_in

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    model_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_model ON entries (model_key, kind);
"""

class CacheError(HarnessError):
    """The cache file exists but cannot be opened or read as a cache."""


@dataclass(frozen=True)
class ModelIdentity:
    """Everything about a model that changes its outputs, hashed once per evaluation."""

    base: str  # base weights hash, or a hash of the hub id
    quantization: str  # e.g. "nf4-dq/float32/cpu" or "none/float32/cpu"
    tokenizer: str  # tokenizer files + resolved chat template
    adapter: str = "none"  # adapter weights hash, "none" for the base

    @property
    def key(self) -> str:
        return sha256_text("model", self.base, self.quantization, self.tokenizer, self.adapter)


def entry_key(model_key: str, kind: str, settings: str, item: str, scorer_version: str) -> str:
    """The key of one per-item result: model, computation, its settings, item content, scorer."""
    return sha256_text("entry", model_key, kind, settings, item, scorer_version)


def settings_hash(settings: Mapping[str, Any]) -> str:
    """A stable hash of a computation's settings (sorted JSON)."""
    return sha256_text(json.dumps(dict(settings), sort_keys=True, default=str))


class ScoreCache:
    """Per-item results in one SQLite file. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db = open_store(self.path, SCHEMA, CacheError, "score cache")
        self.hits = 0
        self.misses = 0

    def __enter__(self) -> ScoreCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        """The cached values among ``keys`` (missing keys are absent from the result)."""
        query = "SELECT key, value FROM entries WHERE key IN ({marks})"
        found: dict[str, Any] = {k: json.loads(v) for k, v in select_in(self._db, query, keys)}
        self.hits += len(found)
        self.misses += len(keys) - len(found)
        return found

    def put_many(self, model_key: str, kind: str, values: Iterable[tuple[str, Any]]) -> int:
        """Store ``(key, value)`` pairs for one model and kind, all in one transaction."""
        now = time.time()
        rows = [(k, model_key, kind, json.dumps(v, sort_keys=True), now) for k, v in values]
        with self._db:  # commits on success, rolls back on any exception
            self._db.executemany(
                "INSERT OR REPLACE INTO entries (key, model_key, kind, value, created)"
                " VALUES (?, ?, ?, ?, ?)", rows)
        return len(rows)

    def invalidate(self, model_key: str) -> int:
        """Drop every entry of one model (e.g. an adapter that was retrained in place)."""
        with self._db:
            cur = self._db.execute("DELETE FROM entries WHERE model_key = ?", (model_key,))
        return int(cur.rowcount)

    def count(self, model_key: str | None = None) -> int:
        if model_key is None:
            row = self._db.execute("SELECT COUNT(*) FROM entries").fetchone()
        else:
            row = self._db.execute("SELECT COUNT(*) FROM entries WHERE model_key = ?",
                                   (model_key,)).fetchone()
        return int(row[0])


__all__ = ["CacheError", "ModelIdentity", "ScoreCache", "entry_key", "settings_hash"]
