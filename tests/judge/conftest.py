"""Fixtures for the judge tests: real Alpaca items, a planted fake key, loopback judge servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from judge_helpers import FAKE_KEY, KEY_ENV, make_items

from harness.judge import JudgeItem
from harness.testing.loopback import LoopbackJudge, Script


@pytest.fixture
def items() -> list[JudgeItem]:
    return make_items()


@pytest.fixture
def fake_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, FAKE_KEY)
    return FAKE_KEY


@pytest.fixture
def loopback(fake_key: str) -> Iterator[Callable[..., LoopbackJudge]]:
    """Start servers that demand the planted key; all are stopped after the test."""
    started: list[LoopbackJudge] = []

    def start(script: Script | None = None, *, latency_s: float = 0.0) -> LoopbackJudge:
        server = LoopbackJudge(script, latency_s=latency_s, api_key=fake_key).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
