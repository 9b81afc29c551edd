"""A planted fake key never reaches results, the cache, logs or output, even when a server echoes it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from judge_helpers import judge, make_items

from harness.judge import run_judges
from harness.judge.secrets import MASK, redact
from harness.testing.loopback import LoopbackJudge, Reply, SeenRequest

Start = Callable[..., LoopbackJudge]


def test_planted_key_appears_nowhere(loopback: Start, tmp_path: Path, fake_key: str,
                                     caplog: pytest.LogCaptureFixture,
                                     capfd: pytest.CaptureFixture[str]) -> None:
    def echoing(seen: SeenRequest) -> Reply:
        # A careless proxy: error messages and even an answer that quote the caller's key.
        if seen.item == "0":
            return Reply("server_error", message=f"upstream rejected key {fake_key}")
        if seen.item == "1" and seen.attempt == 0:
            return Reply("rate_limit", retry_after_s=0.01, message=f"slow down, {fake_key}")
        return Reply("ok", f"Echo {fake_key}\nRating: [[4]]" if seen.item == "2" else "Rating: [[4]]")

    caplog.set_level(logging.DEBUG)  # every logger, SDK and HTTP client included
    server = loopback(echoing)
    cache = tmp_path / "verdicts.db"
    report = run_judges([judge(server, "openai", max_retries=1), judge(server, "anthropic", max_retries=1)],
                        make_items(4), cache_path=cache, progress=True)
    run = report.run("openai-judge")
    assert sum(v.status == "ok" for v in run.verdicts) == 6  # the key worked: the server demands it
    failed = next(v for v in run.verdicts if v.item_id == "0")
    assert failed.status == "error" and f"rejected key {MASK}" in failed.reason
    assert any(MASK in v.raw for v in run.verdicts if v.item_id == "2")

    results = tmp_path / "results.json"
    results.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    out, err = capfd.readouterr()
    places = {"results": results.read_bytes(), "logs": caplog.text.encode(),
              "stdout+stderr": (out + err).encode()}
    places.update({p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("verdicts.db")})
    assert len(places) >= 4 and "retrying" in caplog.text  # the logs did record the retries
    for where, data in places.items():
        assert fake_key.encode() not in data, f"the planted key leaked into {where}"


def test_redact_masks_known_keys_and_key_shaped_strings() -> None:
    assert redact("token sk-proj-abcdefghijklmnop here") == f"token {MASK} here"
    assert redact("no secret in here") == "no secret in here"
