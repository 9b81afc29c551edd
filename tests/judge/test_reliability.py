"""Flaky servers and budgets: nothing is lost, nothing is paid for twice, no budget is overrun."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from judge_helpers import judge, make_items

from harness.errors import JudgeError
from harness.judge import JudgeItem, run_judges
from harness.judge.cache import VerdictCache
from harness.testing.loopback import Faults, LoopbackJudge, Reply, hashed_rating, scripted, uniform

Start = Callable[..., LoopbackJudge]


@pytest.mark.parametrize("backend", ["openai", "anthropic"])
def test_twenty_percent_errors_and_five_percent_malformed_lose_nothing(
        loopback: Start, tmp_path: Path, items: list[JudgeItem], backend: str) -> None:
    faults = Faults(rate_limit=0.10, server_error=0.10, malformed=0.05, retry_after_s=0.05, seed=7)
    server = loopback(scripted(faults=faults))
    run = run_judges([judge(server, backend, max_retries=6)], items, cache_path=tmp_path / "c.db",
                     progress=False).runs[0]
    outcomes = server.outcomes
    assert outcomes.count("rate_limit") + outcomes.count("server_error") >= 8  # faults really happened
    assert run.failed == 0 and len(run.verdicts) == 48
    assert {v.status for v in run.verdicts} <= {"ok", "unparseable"}
    # Every verdict is what the server finally answered for that request: the malformed ones are
    # unparseable, every other one carries the scripted rating.
    final = {s.key: s for s in server.requests}
    malformed = {k for k in final if uniform(faults.seed, k, "malformed") < faults.malformed}
    assert malformed and run.unparseable == len(malformed)
    expected = sorted(float(re.findall(r"\[\[(\d)\]\]", hashed_rating(s))[0])
                      for k, s in final.items() if k not in malformed)
    assert sorted(v.score for v in run.verdicts if v.status == "ok") == expected
    # Each readable answer is paid for once; an unreadable one is asked again twice (never cached).
    answered = server.answered_per_key()
    assert all(answered[k] == (3 if k in malformed else 1) for k in final)
    assert run.reasked == 2 * len(malformed)
    assert run.requests == server.request_count
    assert run.retries == server.request_count - 48 - run.reasked


def test_preflight_refuses_a_run_over_its_token_budget(loopback: Start, tmp_path: Path,
                                                      items: list[JudgeItem]) -> None:
    server = loopback()
    run = run_judges([judge(server, budget_tokens=5_000)], items, cache_path=tmp_path / "c.db",
                     progress=False).runs[0]
    assert server.request_count == 0 and run.failed == 48
    assert re.match(r"48 uncached judgements may take up to \d+ tokens; budget_tokens is 5000",
                    run.error or "")
    assert run.problem and "stopped" in run.problem and all("not judged" in v.reason for v in run.verdicts)


def test_preflight_counts_only_what_is_not_cached(loopback: Start, tmp_path: Path,
                                                 items: list[JudgeItem]) -> None:
    server = loopback()
    run_judges([judge(server)], items, cache_path=tmp_path / "c.db", progress=False)
    warm = run_judges([judge(server, budget_tokens=1)], items, cache_path=tmp_path / "c.db",
                      progress=False).runs[0]
    assert warm.cache_hits == 48 and warm.requests == 0


def test_live_check_stops_when_the_server_counts_more_tokens_than_estimated(
        loopback: Start, tmp_path: Path, items: list[JudgeItem]) -> None:
    # A tokenizer far less efficient than the estimate (as with CJK text): 3,000 tokens per call.
    server = loopback(lambda seen: Reply("ok", "Rating: [[3]]", usage=(2_900, 100)))
    budget = 40_000  # preflight bound is ~17,000 tokens for 48 requests, so the run starts
    stopped = run_judges([judge(server, budget_tokens=budget, concurrency=2)], items,
                         cache_path=tmp_path / "c.db", progress=False).runs[0]
    sent = server.request_count
    assert (stopped.error or "").startswith("budget reached after") and "not sent" in (stopped.error or "")
    assert 0 < sent < 48 and stopped.failed == 48 - sent and stopped.problem
    assert sent * 3_000 <= budget + 3_000 * 2  # at most the in-flight requests past the line
    with VerdictCache(tmp_path / "c.db") as cache:
        assert len(cache) == sent  # what was paid for is kept: a rerun with more budget resumes
    rerun = run_judges([judge(server)], items, cache_path=tmp_path / "c.db", progress=False).runs[0]
    assert rerun.cache_hits == sent and rerun.requests == 48 - sent


def test_dollar_budget_and_cost_use_the_price_table(loopback: Start, tmp_path: Path) -> None:
    server = loopback(lambda seen: Reply("ok", "Rating: [[3]]", usage=(1_000, 10)))
    items = make_items(5)
    run = run_judges([judge(server, model="gpt-4o-mini", budget_usd=1.0)], items,
                     cache_path=tmp_path / "c.db", progress=False).runs[0]
    assert run.input_tokens == 10_000 and run.output_tokens == 100
    assert run.cost_usd == pytest.approx((10_000 * 0.15 + 100 * 0.60) / 1e6)
    over = run_judges([judge(server, model="gpt-4o", budget_usd=0.001)], items, cache_path=tmp_path / "c.db",
                      progress=False).runs[0]
    assert re.search(r"may cost up to \$", over.error or "") and over.requests == 0
    with pytest.raises(JudgeError, match="no price is known"):
        run_judges([judge(server, model="mystery-model", budget_usd=1.0)], items,
                   cache_path=tmp_path / "c.db", progress=False)


def test_one_judge_failing_for_good_lets_the_others_finish(loopback: Start, tmp_path: Path,
                                                          items: list[JudgeItem]) -> None:
    good = loopback()
    bad = loopback(lambda seen: Reply("ok", "[[3]]"))
    configs = [judge(good, name="good"), judge(bad, name="bad", api_key_env="HARNESS_TEST_NO_SUCH_KEY")]
    report = run_judges(configs, items, cache_path=tmp_path / "c.db", progress=False)
    assert "HTTP 401" in (report.run("bad").error or "") and report.run("bad").problem
    assert report.run("good").error is None and report.run("good").problem is None
    warm = run_judges([configs[0]], items, cache_path=tmp_path / "c.db", progress=False).runs[0]
    assert warm.cache_hits == 48 and warm.requests == 0


def test_a_corrupt_cache_file_is_a_clear_error(loopback: Start, tmp_path: Path) -> None:
    server = loopback()
    (tmp_path / "c.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(JudgeError, match="not a usable judge cache"):
        run_judges([judge(server)], make_items(1), cache_path=tmp_path / "c.db", progress=False)
