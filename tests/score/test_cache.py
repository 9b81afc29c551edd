from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from harness.score.cache import CacheError, ModelIdentity, ScoreCache, entry_key, settings_hash


def test_values_round_trip_and_misses_are_absent(tmp_path: Path) -> None:
    with ScoreCache(tmp_path / "c.sqlite") as cache:
        rows = [("k1", {"output": "héllo"}), ("k2", {"nll": 1.5, "tokens": 3})]
        assert cache.put_many("m1", "gen", rows) == 2
        found = cache.get_many(["k1", "k2", "k3"])
    assert found == {"k1": {"output": "héllo"}, "k2": {"nll": 1.5, "tokens": 3}}
    with ScoreCache(tmp_path / "c.sqlite") as again:  # persisted across connections
        assert again.get_many(["k2"]) == {"k2": {"nll": 1.5, "tokens": 3}}
        assert (again.hits, again.misses) == (1, 0)


def test_store_uses_wal_and_other_connections_see_committed_rows(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with ScoreCache(path) as cache:
        cache.put_many("m", "gen", [("k", {"output": "x"})])
        other = sqlite3.connect(str(path))
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert other.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 1
        other.close()


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    with ScoreCache(tmp_path / "c.sqlite") as cache:
        with pytest.raises(TypeError):
            cache.put_many("m", "gen", [("a", {"ok": 1}), ("b", {"bad": object()})])
        assert cache.count() == 0


def test_many_keys_are_read_in_chunks(tmp_path: Path) -> None:
    with ScoreCache(tmp_path / "c.sqlite") as cache:
        cache.put_many("m", "gen", [(f"k{i}", i) for i in range(1234)])
        found = cache.get_many([f"k{i}" for i in range(0, 1300)])
    assert len(found) == 1234 and found["k1000"] == 1000


def test_invalidate_drops_only_one_model(tmp_path: Path) -> None:
    with ScoreCache(tmp_path / "c.sqlite") as cache:
        cache.put_many("a", "gen", [("k1", 1), ("k2", 2)])
        cache.put_many("b", "gen", [("k3", 3)])
        assert cache.invalidate("a") == 2
        assert cache.get_many(["k1", "k2", "k3"]) == {"k3": 3}


def test_every_key_part_changes_the_key() -> None:
    base = ModelIdentity("w", "nf4-dq/float32/cpu", "tok")
    parts = ["model", "gen", "settings", "item", "1"]
    keys = {entry_key(*parts)}
    for i in range(len(parts)):
        changed = list(parts)
        changed[i] += "x"
        keys.add(entry_key(*changed))
    assert len(keys) == 1 + len(parts)
    variants = {base.key, ModelIdentity("w2", base.quantization, "tok").key,
                ModelIdentity("w", "none/float32/cpu", "tok").key,
                ModelIdentity("w", base.quantization, "t2").key,
                ModelIdentity("w", base.quantization, "tok", adapter="abc").key}
    assert len(variants) == 5
    assert settings_hash({"a": 1, "b": 2}) == settings_hash({"b": 2, "a": 1})


def test_a_file_that_is_not_a_cache_is_a_harness_error(tmp_path: Path) -> None:
    bad = tmp_path / "c.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CacheError, match="not a usable score cache"):
        ScoreCache(bad)
