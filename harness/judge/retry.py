"""Retries for judge calls: exponential backoff with jitter, or the server's ``retry-after``.

Only :class:`TransientError` is retried. A ``retry-after`` from the server wins
over the backoff schedule (plus up to 10% jitter, so that requests told to wait
the same time do not all return at once).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from harness.judge.backends.base import TransientError

T = TypeVar("T")
log = logging.getLogger("harness.judge")


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 6
    initial_s: float = 0.5  # first backoff, doubled each retry
    max_s: float = 30.0
    jitter_s: float = 0.5


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_exponential_jitter(initial=policy.initial_s, max=policy.max_s, jitter=policy.jitter_s)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        told = getattr(exc, "retry_after_s", None)
        if told is not None:
            return float(told) * (1 + 0.1 * random.random())
        return float(backoff(state))

    return wait


async def call_with_retries(call: Callable[[], Awaitable[T]], policy: RetryPolicy, *, label: str,
                            on_attempt: Callable[[], None] = lambda: None) -> T:
    """Run ``call`` until it succeeds, fails for good, or runs out of retries (then re-raise).

    ``on_attempt`` is called before every attempt, so callers can count requests made.
    """

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.info("%s: attempt %d failed (%s); retrying in %.2fs", label, state.attempt_number, exc, wait)

    retrying = AsyncRetrying(stop=stop_after_attempt(policy.max_retries + 1),
                             retry=retry_if_exception_type(TransientError), wait=_wait(policy),
                             before_sleep=before_sleep, reraise=True)
    async for attempt in retrying:
        with attempt:
            on_attempt()
            return await call()
    raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover
