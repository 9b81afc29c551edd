"""run_jobs: cache first, model only for misses; sampled generations are not cached unless asked."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.config import ScoreConfig
from harness.score.cache import ScoreCache
from harness.score.generation import generation_settings_key, settings_for
from harness.score.jobs import Job, run_jobs


class FakePool:
    """Stands in for ModelPool: records which models were activated."""

    def __init__(self) -> None:
        self.activated: list[str] = []

    @contextlib.contextmanager
    def active(self, name: str) -> Iterator[Any]:
        self.activated.append(name)
        yield object()


def counting_job(calls: list[list[str]], cacheable: bool = True, settings: str = "s") -> Job:
    def compute(_: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
        calls.append(list(ids))
        return {i: {"output": f"out-{i}"} for i in ids}

    return Job("gen", settings, {"a": "ha", "b": "hb"}, compute, cacheable=cacheable)


def test_only_missing_items_are_computed_and_a_full_hit_activates_nothing(tmp_path: Path) -> None:
    calls: list[list[str]] = []
    pool = FakePool()
    with ScoreCache(tmp_path / "c.sqlite") as store:
        first = run_jobs("m", "key-m", [counting_job(calls)], pool, store)  # type: ignore[arg-type]
        second = run_jobs("m", "key-m", [counting_job(calls)], pool, store)  # type: ignore[arg-type]
        other = run_jobs("m2", "key-m2", [counting_job(calls)], pool, store)  # type: ignore[arg-type]
        job = counting_job(calls, settings="s2")
        changed = run_jobs("m", "key-m", [job], pool, store)  # type: ignore[arg-type]
    expected = {"gen": {"a": {"output": "out-a"}, "b": {"output": "out-b"}}}
    assert first == second == other == changed == expected
    assert calls == [["a", "b"], ["a", "b"], ["a", "b"]]  # m, then m2, then m with new settings
    assert pool.activated == ["m", "m2", "m"]


def test_uncacheable_jobs_are_never_read_or_written(tmp_path: Path) -> None:
    calls: list[list[str]] = []
    pool = FakePool()
    with ScoreCache(tmp_path / "c.sqlite") as store:
        for _ in range(2):
            run_jobs("m", "key-m", [counting_job(calls, cacheable=False)], pool, store)  # type: ignore[arg-type]
        assert store.count() == 0
    assert len(calls) == 2


def test_sampled_generation_is_cacheable_only_when_asked() -> None:
    greedy = settings_for(ScoreConfig(), [1, 2])
    assert not greedy.sampled and greedy.cacheable
    sampled = greedy.__class__(**{**greedy.__dict__, "temperature": 0.7})
    assert sampled.sampled and not sampled.cacheable
    asked = greedy.__class__(**{**greedy.__dict__, "temperature": 0.7, "cache_sampled": True})
    assert asked.cacheable
    # decoding settings are in the key; whether to cache is not
    assert generation_settings_key(sampled) != generation_settings_key(greedy)
    assert generation_settings_key(sampled) == generation_settings_key(asked)


def test_items_with_the_same_content_are_computed_once_and_share_the_value(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def compute(_: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
        calls.append(list(ids))
        return {i: {"output": f"out-{i}"} for i in ids}

    job = Job("gen", "s", {"a": "same", "b": "other", "c": "same"}, compute)
    with ScoreCache(tmp_path / "c.sqlite") as store:
        cold = run_jobs("m", "key-m", [job], FakePool(), store)  # type: ignore[arg-type]
        warm = run_jobs("m", "key-m", [job], FakePool(), store)  # type: ignore[arg-type]
        assert store.count() == 2
    assert calls == [["a", "b"]]
    assert cold == warm == {"gen": {"a": {"output": "out-a"}, "b": {"output": "out-b"},
                                    "c": {"output": "out-a"}}}
