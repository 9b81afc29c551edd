"""Retries through the official SDKs against the loopback server: every attempt is ours and counted."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from judge_helpers import judge, make_items

from harness.errors import JudgeError
from harness.judge import run_judges
from harness.judge.backends.base import retry_after
from harness.testing.loopback import LoopbackJudge, Reply, SeenRequest, hashed_rating

Start = Callable[..., LoopbackJudge]


def first_attempts(kind: str, n: int = 1, **reply: object) -> Callable[[SeenRequest], Reply]:
    """Fail the first ``n`` attempts of every request with ``kind``, then answer."""
    def script(seen: SeenRequest) -> Reply:
        if seen.attempt < n:
            return Reply(kind, **reply)  # type: ignore[arg-type]
        return Reply("ok", hashed_rating(seen))
    return script


def gaps(server: LoopbackJudge) -> list[list[float]]:
    """Per request (same key): the seconds between its successive attempts."""
    times: dict[str, list[float]] = {}
    for seen in server.requests:
        times.setdefault(seen.key, []).append(seen.at)
    return [[b - a for a, b in itertools.pairwise(t)] for t in times.values()]


@pytest.mark.parametrize("backend", ["openai", "anthropic"])
def test_retry_after_is_honoured(loopback: Start, tmp_path: Path, backend: str) -> None:
    server = loopback(first_attempts("rate_limit", retry_after_s=1.0))
    items = make_items(2)
    run = run_judges([judge(server, backend)], items, cache_path=tmp_path / "c.db", progress=False).runs[0]
    assert [v.status for v in run.verdicts] == ["ok"] * 4
    assert run.requests == 8 and run.retries == 4  # 4 judgements, each 429 once: the SDK retried nothing
    waits = gaps(server)
    assert len(waits) == 4 and all(len(w) == 1 for w in waits)
    for (gap,) in waits:
        assert 1.0 <= gap < 1.6, gap  # waited what the server said (+ <=10% jitter), not the 0.5 s backoff


def test_server_errors_back_off_exponentially(loopback: Start, tmp_path: Path) -> None:
    server = loopback(first_attempts("server_error", n=2))
    item = make_items(1)[0].model_copy(update={"outputs": {"ft": "An answer."}})
    run = run_judges([judge(server)], [item], cache_path=tmp_path / "c.db", progress=False).runs[0]
    assert run.requests == 3 and run.retries == 2 and run.failed == 0
    ((first, second),) = gaps(server)[:1]
    assert 0.5 <= first < 1.2 and 1.0 <= second < 1.7 and second > first


@pytest.mark.parametrize("backend", ["openai", "anthropic"])
def test_timeouts_and_garbled_bodies_are_retried(loopback: Start, tmp_path: Path, backend: str) -> None:
    def script(seen: SeenRequest) -> Reply:
        if seen.attempt == 0:
            return Reply("timeout", delay_s=3.0) if seen.item == "0" else Reply("garbled")
        return Reply("ok", "Fine.\nRating: [[4]]")

    server = loopback(script)
    run = run_judges([judge(server, backend, timeout_s=0.5)], make_items(2), cache_path=tmp_path / "c.db",
                     progress=False).runs[0]
    assert [(v.status, v.score) for v in run.verdicts] == [("ok", 4.0)] * 4
    assert run.requests == 8 and run.retries == 4


def test_retries_exhausted_marks_the_item_failed_and_never_caches_it(loopback: Start, tmp_path: Path) -> None:
    server = loopback(first_attempts("server_error", n=1))
    config = judge(server, max_retries=0)
    cache = tmp_path / "c.db"
    run = run_judges([config], make_items(1), cache_path=cache, progress=False).runs[0]
    assert [v.status for v in run.verdicts] == ["error", "error"]
    assert "HTTP 500" in run.verdicts[0].reason and run.failed == 2 and run.scores["ft"].mean is None
    assert run.requests == 2  # one attempt each: the SDK's own retries are off
    again = run_judges([config], make_items(1), cache_path=cache, progress=False).runs[0]
    assert again.cache_hits == 0 and again.requests == 2  # the failures were not cached: asked again
    assert [v.status for v in again.verdicts] == ["ok", "ok"]


def test_a_bad_request_fails_that_item_only(loopback: Start, tmp_path: Path) -> None:
    def script(seen: SeenRequest) -> Reply:
        return Reply("bad_request", message="prompt too long") if seen.item == "1" else Reply("ok", "[[3]]")

    server = loopback(script)
    run = run_judges([judge(server)], make_items(3), cache_path=tmp_path / "c.db", progress=False).runs[0]
    status = {(v.item_id, v.model): v.status for v in run.verdicts}
    assert status[("1", "ft")] == "error" and status[("0", "ft")] == status[("2", "base")] == "ok"
    assert run.requests == 6  # a 400 is not retried


def test_a_wrong_key_stops_the_run_at_once(loopback: Start, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    server = loopback()
    monkeypatch.setenv("HARNESS_TEST_JUDGE_KEY", "sk-test-WRONGWRONGWRONG")
    run = run_judges([judge(server, concurrency=2)], make_items(24), cache_path=tmp_path / "c.db",
                     progress=False).runs[0]
    assert "HTTP 401" in (run.error or "") and run.failed == 48
    assert run.requests <= 2  # not 48 judgements x 7 attempts (the server does not count refused keys)
    assert "WRONG" not in run.model_dump_json()


def test_missing_key_is_a_clear_error_before_any_request(loopback: Start, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    server = loopback()
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    keyless = judge(server, name="keyless", api_key_env=None, base_url=None)
    with pytest.raises(JudgeError, match="OPENAI_API_KEY is not set"):
        run_judges([judge(server), keyless], make_items(1), cache_path=tmp_path / "c.db", progress=False)
    assert server.request_count == 0  # not even the judge that had its key


def test_retry_after_header_forms() -> None:
    assert retry_after({"retry-after-ms": "250", "retry-after": "3"}) == 0.25
    assert retry_after({"Retry-After": "2"}) == 2.0
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    assert retry_after({"retry-after": "99999"}) == 120.0
    assert retry_after({"retry-after": "soon"}) is None and retry_after({}) is None


@pytest.mark.parametrize("backend", ["openai", "anthropic"])
def test_a_model_that_refuses_temperature_is_asked_again_without_it(loopback: Start, tmp_path: Path,
                                                                   backend: str) -> None:
    def script(seen: SeenRequest) -> Reply:
        if "temperature" in seen.body:
            return Reply("bad_request", message="Unsupported value: 'temperature' does not support 0")
        return Reply("ok", "Rating: [[5]]")

    server = loopback(script)
    run = run_judges([judge(server, backend, concurrency=1)], make_items(2), cache_path=tmp_path / "c.db",
                     progress=False).runs[0]
    assert [v.score for v in run.verdicts] == [5.0] * 4
    assert server.request_count == run.requests == 5  # one refusal, then the setting stays dropped
