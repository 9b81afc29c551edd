"""Run one judge's requests: cache first, then the backend with bounded concurrency, retries and budget.

Every answer with a readable verdict is written to the cache as soon as it
arrives, before anything else happens to it. An answer with no readable verdict
is asked again (``unparseable_retries`` times) and never cached, so a later run
asks again too; a failure is recorded for the report and never cached.

The judge stops, recording why (:attr:`Engine.stopped`), when no judgement can
succeed: a :class:`FatalError` (bad key, unknown model), a budget that would be
overrun, or the judge-wide retry budget spent on failures that hit every request
alike (a refused connection; :class:`Breaker`). Answers that arrived before the
stop are kept. The stop and each judgement that failed for good are warnings on the
harness console (:func:`harness.progress.warning`); retries and re-asks are logged
(``harness.judge``, INFO).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.errors import BudgetExceeded
from harness.judge.backends import (
    JUDGE_WIDE_KINDS,
    Backend,
    Completion,
    FatalError,
    RequestError,
    TransientError,
)
from harness.judge.budget import Budget
from harness.judge.cache import VerdictCache
from harness.judge.config import JudgeConfig
from harness.judge.jobs import Job
from harness.judge.retry import RetryPolicy, call_with_retries
from harness.judge.secrets import redact
from harness.progress import warning

log = logging.getLogger("harness.judge")


@dataclass(frozen=True, slots=True)
class Answer:
    """The judge's text for one request, or why there is none."""

    text: str | None
    error: str | None = None
    cached: bool = False


@dataclass
class Counters:
    requests: int = 0
    retries: int = 0
    cache_hits: int = 0
    reasked: int = 0  # unparseable answers asked again
    input_tokens: int = 0
    output_tokens: int = 0


class CircuitOpen(FatalError):
    """The judge-wide retry budget is spent: every remaining judgement is given up at once."""


class Breaker:
    """One judge's shared retry budget for failures that hit every request alike (:data:`JUDGE_WIDE_KINDS`).

    Failures count in *rounds* on the retry policy's own schedule: a failure opens a
    new round only once the backoff after the previous round has passed, so the
    requests in flight together, failing together, are one piece of evidence, and
    the judge as a whole waits as long as one request would before giving up. A
    success anywhere resets the count. After ``max_retries + 1`` rounds with no
    success the breaker opens: the failing request raises :class:`CircuitOpen` and
    the judge stops, instead of every item spending its own retries on a dead server.
    """

    def __init__(self, policy: RetryPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy, self.clock = policy, clock
        self.rounds = policy.max_retries + 1
        self.streak = 0
        self.first = self.last = 0.0

    def failed(self, exc: TransientError) -> None:
        if exc.kind not in JUDGE_WIDE_KINDS:
            return
        now = self.clock()
        if self.streak:
            gap = min(self.policy.initial_s * 2 ** (self.streak - 1), self.policy.max_s)
            if now - self.last < gap:
                return  # the same round: no new evidence yet
        else:
            self.first = now
        self.streak += 1
        self.last = now
        if self.streak >= self.rounds:
            raise CircuitOpen(f"{exc}; gave up after {self.streak} rounds of attempts over "
                              f"{now - self.first:.1f}s, all failing alike")

    def succeeded(self) -> None:
        self.streak = 0


class Engine:
    def __init__(self, config: JudgeConfig, backend: Backend, cache: VerdictCache, budget: Budget, *,
                 backend_name: str, rubric: str, model_identity: str, parses: Callable[[str], bool],
                 policy: RetryPolicy | None = None, on_done: Callable[[int], None] = lambda n: None) -> None:
        self.config, self.backend, self.cache, self.budget = config, backend, cache, budget
        self.backend_name, self.rubric, self.model_identity = backend_name, rubric, model_identity
        self.parses = parses  # does an answer hold a verdict the rubric can read?
        self.policy = policy or RetryPolicy(max_retries=config.max_retries)
        self.breaker = Breaker(self.policy)
        self.on_done = on_done
        self.counters = Counters()
        self.stopped: str | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def run(self, jobs: Sequence[Job]) -> dict[str, Answer]:
        unique = {job.key: job for job in jobs}  # identical requests are asked once
        # A cached answer with no readable verdict (cached before they were refused) is asked again.
        answers: dict[str, Answer] = {key: Answer(hit.text, cached=True)
                                      for key, hit in self.cache.get_many(list(unique)).items()
                                      if self.parses(hit.text)}
        self.counters.cache_hits = len(answers)
        self.on_done(len(answers))
        todo = [job for key, job in unique.items() if key not in answers]
        try:
            if self.budget.limited:
                self.budget.preflight([job.bound for job in todo])
        except BudgetExceeded as exc:
            self.stopped = str(exc)
            return answers
        gate = asyncio.Semaphore(self.config.concurrency)
        self._tasks = [asyncio.create_task(self._one(job, gate, answers)) for job in todo]
        outcomes = await asyncio.gather(*self._tasks, return_exceptions=True)
        for outcome in outcomes:  # a bug is raised, not swallowed; a task cancelled by a stop is not one
            if isinstance(outcome, BaseException) and not isinstance(outcome, asyncio.CancelledError):
                raise outcome
        if self.stopped is None and self.budget.refused:
            self.stopped = str(self._budget_reached(len(todo)))
        return answers

    async def _one(self, job: Job, gate: asyncio.Semaphore, answers: dict[str, Answer]) -> None:
        async with gate:
            if self.stopped is not None:
                return
            try:
                answer = await self._judged(job)
            except FatalError as exc:
                self._stop(str(exc))
                return
            finally:
                self.on_done(1)
            if answer is not None:
                answers[job.key] = answer

    def _stop(self, reason: str) -> None:
        """No judgement can succeed: record why once, and cancel every other request (queued, in
        flight or waiting out a backoff) instead of letting each find out for itself."""
        if self.stopped is not None:
            return
        self.stopped = reason
        warning(redact(f"judge {self.config.name!r} stopped: {reason}"))
        me = asyncio.current_task()
        for task in self._tasks:
            if task is not me:
                task.cancel()

    async def _judged(self, job: Job) -> Answer | None:
        """The job's answer, asked again while it holds no readable verdict (within the bound)."""
        answer: Answer | None = None
        for ask in range(1 + self.config.unparseable_retries):
            bound_in, bound_out = job.bound
            # A re-ask the budget cannot take keeps the unparseable answer; it is not a judgement unsent.
            if not self.budget.reserve(bound_in, bound_out, count_refusal=ask == 0):
                return answer
            if ask:
                self.counters.reasked += 1
                log.info("judge %r: no readable verdict in an answer; asking again", self.config.name)
            try:
                answer = await self._ask(job)
            finally:
                self.budget.release(bound_in, bound_out)
            if answer.text is None or self.parses(answer.text):
                return answer
        return answer

    async def _ask(self, job: Job) -> Answer:
        attempts = 0
        breaker = self.breaker

        async def call() -> Completion:
            nonlocal attempts
            attempts += 1
            self.counters.requests += 1
            try:
                done = await self.backend.complete(job.system, job.user, job.max_tokens)
            except TransientError as exc:
                breaker.failed(exc)  # CircuitOpen once the judge-wide budget is spent
                raise
            breaker.succeeded()
            return done

        label = f"judge {self.config.name!r}"
        try:
            done = await call_with_retries(call, self.policy, label=label)
        except (TransientError, RequestError) as exc:
            warning(redact(f"{label}: a judgement failed after {attempts} attempt(s): {exc}"))
            return Answer(None, error=str(exc))
        finally:
            self.counters.retries += max(0, attempts - 1)
        text = redact(done.text)
        if self.parses(text):
            # Persist first: from here on, a kill loses nothing that was paid for.
            self.cache.put(job.key, backend=self.backend_name, model=self.model_identity, rubric=self.rubric,
                           text=text, input_tokens=done.input_tokens, output_tokens=done.output_tokens)
        self.budget.spend(done.input_tokens, done.output_tokens)
        self.counters.input_tokens += done.input_tokens
        self.counters.output_tokens += done.output_tokens
        return Answer(text)

    def _budget_reached(self, todo: int) -> BudgetExceeded:
        spent = f"{self.budget.spent_tokens} tokens"
        if self.budget.price is not None:
            spent += f" (${self.budget.spent_usd:.4f})"
        return BudgetExceeded(f"budget reached after {spent}; {self.budget.refused} of {todo} judgements "
                              "were not sent", hint="every answer so far is cached; raise the budget and "
                                                    "rerun to finish")
