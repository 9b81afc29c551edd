"""Judges that pass when nothing was judged, or pay for the wrong thing: an unreachable server, a
threshold of judgements without a verdict, unparseable answers asked again and never cached."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from judge_helpers import KEY_ENV, judge, make_items

from harness.gate import evaluate_gates
from harness.judge import JudgeConfig, JudgeReport, run_judges
from harness.judge.backends import TransientError
from harness.judge.cache import VerdictCache
from harness.judge.engine import Breaker, CircuitOpen
from harness.judge.retry import RetryPolicy
from harness.results import RunResults
from harness.testing.loopback import LoopbackJudge, Reply, SeenRequest, hashed_rating

Start = Callable[..., LoopbackJudge]
CLOSED_PORT = "http://127.0.0.1:9/v1"  # discard: nothing listens, every connect is refused at once


def gated(report: JudgeReport, *gates: str) -> RunResults:
    results = RunResults(suite="s", candidate="ft", models={"base": {}, "ft": {}}, judges=report)
    return results.model_copy(update={"gates": evaluate_gates(results, list(gates))})


def test_an_unreachable_judge_fails_fast_and_fails_its_gates(tmp_path: Path, fake_key: str) -> None:
    # Before: every judgement spent its own retries, 48 x 3 = 144 attempts over ~16 s, and the run
    # PASSED with every judgement failed. Now the refused connections share one retry budget.
    config = JudgeConfig(name="dead", backend="openai", model="judge-model", rubric="helpfulness",
                         base_url=CLOSED_PORT, api_key_env=KEY_ENV, max_retries=2, concurrency=8)
    import harness.judge.backends.openai_api  # noqa: F401  (the SDK's import time is not the judge's)

    started = time.perf_counter()
    report = run_judges([config], make_items(24), cache_path=tmp_path / "c.db", progress=False)
    seconds = time.perf_counter() - started
    run = report.runs[0]
    print(f"attempts={run.requests} seconds={seconds:.2f}")
    assert run.failed == 48 and len(run.verdicts) == 48
    assert run.requests <= 8 * 3, run.requests  # at most the requests in flight, each its own retries
    # The policy's schedule once (0.5 s + 1 s, plus jitter), not once per item; ~2 s on an idle machine.
    assert 1.5 <= seconds < 8, seconds
    assert "cannot connect" in (run.error or "") and "ConnectionRefusedError" in (run.error or "")
    assert "gave up after 3 rounds" in (run.error or "")
    results = gated(report, "judge.dead.mean >= 3")
    assert not results.passed
    mean_gate, own_gate = results.gates
    assert mean_gate.message.startswith("cannot evaluate: judge 'dead' stopped: cannot connect")
    assert own_gate.name == "judge.dead" and not own_gate.passed
    assert "48 of 48 judgements without a verdict" in own_gate.message
    assert fake_key not in results.model_dump_json()


def test_the_breaker_counts_rounds_on_the_retry_schedule() -> None:
    now = [0.0]
    breaker = Breaker(RetryPolicy(max_retries=3, initial_s=0.5), clock=lambda: now[0])
    refused = TransientError("cannot connect: refused", kind="connection")
    for _ in range(8):  # eight requests in flight failing together: one round
        breaker.failed(refused)
    breaker.failed(TransientError("HTTP 500", kind="server"))  # per request: not counted
    assert breaker.streak == 1
    now[0] = 0.4
    breaker.failed(refused)
    assert breaker.streak == 1  # the backoff after round 1 (0.5 s) has not passed
    now[0] = 0.6
    breaker.failed(refused)
    now[0] = 1.7
    breaker.failed(refused)
    assert breaker.streak == 3
    breaker.succeeded()  # the server answered someone: start over
    assert breaker.streak == 0
    for t in (2.0, 2.6, 3.7):
        now[0] = t
        breaker.failed(refused)
    now[0] = 5.8
    with pytest.raises(CircuitOpen, match=r"gave up after 4 rounds of attempts over 3\.8s"):
        breaker.failed(refused)


def test_a_flaky_server_does_not_trip_the_breaker(loopback: Start, tmp_path: Path) -> None:
    def script(seen: SeenRequest) -> Reply:
        return Reply("drop") if seen.attempt == 0 else Reply("ok", hashed_rating(seen))

    server = loopback(script)
    run = run_judges([judge(server, max_retries=2)], make_items(12), cache_path=tmp_path / "c.db",
                     progress=False).runs[0]
    assert run.error is None and run.failed == 0 and run.requests == 48  # each dropped once, then answered


def failing_items(bad: set[str]) -> Callable[[SeenRequest], Reply]:
    def script(seen: SeenRequest) -> Reply:
        if seen.item in bad:
            return Reply("bad_request", message="prompt rejected by the moderation filter")
        return Reply("ok", hashed_rating(seen))
    return script


def test_judgements_without_a_verdict_over_max_failed_fail_the_judge(loopback: Start, tmp_path: Path) -> None:
    server = loopback(failing_items({"3"}))
    items = make_items(6)
    strict = run_judges([judge(server)], items, cache_path=tmp_path / "c.db", progress=False)
    results = gated(strict, "judge.openai-judge.mean >= 1")
    assert strict.runs[0].failed == 2 and not results.passed
    assert all(not g.passed for g in results.gates)
    assert "2 of 12 judgements without a verdict (2 failed, 0 unparseable; max_failed 0)" in \
        results.gates[1].message and "moderation filter" in results.gates[1].message
    tolerant = run_judges([judge(server, max_failed=2)], items, cache_path=tmp_path / "c.db",
                          progress=False)
    results = gated(tolerant, "judge.openai-judge.mean >= 1")
    assert results.passed and results.gates[1].message.startswith("passed: 2 of 12")


def test_a_judge_that_judged_nothing_fails(tmp_path: Path, loopback: Start) -> None:
    server = loopback()
    mmlu_only = judge(server, splits=["mmlu"])
    report = run_judges([mmlu_only], make_items(3), cache_path=tmp_path / "c.db", progress=False)
    assert report.runs[0].items == 0 and server.request_count == 0
    (own,) = gated(report).gates
    assert not own.passed and "judged no items" in own.message


def rambles_first(seen: SeenRequest) -> Reply:
    """Item 0 rambles on its first attempt; item 1 always does; the rest answer."""
    if seen.item == "1" or (seen.item == "0" and seen.attempt == 0):
        return Reply("ok", "I have looked at it carefully and it is fine overall.")
    return Reply("ok", hashed_rating(seen))


def test_unparseable_answers_are_asked_again_and_never_cached(loopback: Start, tmp_path: Path) -> None:
    # Before: the rambling answer was cached and reported unparseable on every later run (asked once).
    server = loopback(rambles_first)
    items = [it.model_copy(update={"outputs": {"ft": it.outputs["ft"]}}) for it in make_items(3)]
    cache = tmp_path / "c.db"
    first = run_judges([judge(server)], items, cache_path=cache, progress=False).runs[0]
    status = {v.item_id: v.status for v in first.verdicts}
    assert status == {"0": "ok", "1": "unparseable", "2": "ok"}
    assert server.received_per_item() == {"0": 2, "1": 3, "2": 1}  # re-asked within the run, bounded
    assert first.reasked == 3 and first.requests == 6
    with VerdictCache(cache) as db:
        assert len(db) == 2  # only the readable verdicts
    second = run_judges([judge(server)], items, cache_path=cache, progress=False).runs[0]
    assert second.cache_hits == 2 and second.requests == 3  # item 1 is asked again, up to the bound
    assert server.received_per_item()["1"] == 6


def test_an_unparseable_answer_cached_by_an_older_run_is_asked_again(loopback: Start, tmp_path: Path) -> None:
    server = loopback()
    items = [it.model_copy(update={"outputs": {"ft": it.outputs["ft"]}}) for it in make_items(2)]
    cache = tmp_path / "c.db"
    first = run_judges([judge(server)], items, cache_path=cache, progress=False).runs[0]
    assert first.requests == 2
    with VerdictCache(cache) as db:  # as the cache of an older version held them
        db._db.execute("UPDATE verdicts SET text = 'no idea'")
    again = run_judges([judge(server)], items, cache_path=cache, progress=False).runs[0]
    assert again.cache_hits == 0 and again.requests == 2 and again.unparseable == 0


def test_a_re_ask_the_budget_cannot_take_keeps_the_unparseable_answer(loopback: Start,
                                                                     tmp_path: Path) -> None:
    server = loopback(lambda seen: Reply("ok", "Fine.", usage=(1_500, 10)))
    item = make_items(1)[0].model_copy(update={"outputs": {"ft": "An answer."}})
    run = run_judges([judge(server, budget_tokens=1_800)], [item], cache_path=tmp_path / "c.db",
                     progress=False).runs[0]
    assert server.request_count == 1 and run.unparseable == 1 and run.reasked == 0
    assert run.error is None  # no judgement was left unsent: the one there was, was asked


@pytest.mark.parametrize("quiet", [False, True])
def test_judge_warnings_go_through_the_console_and_quiet_hides_them(
        tmp_path: Path, loopback: Start, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture, quiet: bool) -> None:
    """A judgement that fails for good and a judge that stops are console warnings, not log records
    (Python's fallback handler printed them to stderr, --quiet or not); --quiet hides them."""
    from harness.progress import terminal

    server = loopback(lambda seen: Reply("bad_request", message="context too long") if seen.item == "1"
                      else Reply(text=hashed_rating(seen)))
    with terminal(quiet=quiet):
        failed_one = run_judges([judge(server)], make_items(3), cache_path=tmp_path / "a.db", progress=False)
        wrong = "sk-test-WRONG-0a1b2c3d4e5f6a7b"
        monkeypatch.setenv(KEY_ENV, wrong)
        stopped = run_judges([judge(server)], make_items(3), cache_path=tmp_path / "b.db", progress=False)
    assert failed_one.runs[0].failed == 2 and failed_one.runs[0].error is None
    assert stopped.runs[0].error == "HTTP 401: invalid api key"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # no record for a handler
    err = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    if quiet:
        assert err == ""
        return
    assert err.count("warning: judge 'openai-judge': a judgement failed after 1 attempt(s): HTTP 400: "
                     "context too long") == 2  # base and ft of item 1
    assert err.count("warning: judge 'openai-judge' stopped: HTTP 401: invalid api key") == 1
    assert wrong not in err
