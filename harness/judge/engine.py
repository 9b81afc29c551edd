"""Run one judge's requests: cache first, then the backend with bounded concurrency, retries and budget.

Every answer is written to the cache as soon as it arrives, before anything
else happens to it; a failure is recorded for the report and never cached. A
:class:`FatalError` (bad key, unknown model) stops the judge at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from harness.errors import BudgetExceeded, JudgeError
from harness.judge.backends import Backend, Completion, FatalError, RequestError, TransientError
from harness.judge.budget import Budget
from harness.judge.cache import VerdictCache
from harness.judge.config import JudgeConfig
from harness.judge.jobs import Job
from harness.judge.retry import RetryPolicy, call_with_retries
from harness.judge.secrets import redact

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
    input_tokens: int = 0
    output_tokens: int = 0


class Engine:
    def __init__(self, config: JudgeConfig, backend: Backend, cache: VerdictCache, budget: Budget, *,
                 rubric: str, model_identity: str, policy: RetryPolicy | None = None,
                 on_done: Callable[[int], None] = lambda n: None) -> None:
        self.config, self.backend, self.cache, self.budget = config, backend, cache, budget
        self.rubric, self.model_identity = rubric, model_identity
        self.policy = policy or RetryPolicy(max_retries=config.max_retries)
        self.on_done = on_done
        self.counters = Counters()

    async def run(self, jobs: Sequence[Job]) -> dict[str, Answer]:
        unique = {job.key: job for job in jobs}  # identical requests are asked once
        answers: dict[str, Answer] = {
            key: Answer(hit.text, cached=True) for key, hit in self.cache.get_many(list(unique)).items()}
        self.counters.cache_hits = len(answers)
        self.on_done(len(answers))
        todo = [job for key, job in unique.items() if key not in answers]
        if self.budget.limited:
            self.budget.preflight([job.bound for job in todo])
        gate = asyncio.Semaphore(self.config.concurrency)
        tasks = [asyncio.create_task(self._one(job, gate)) for job in todo]
        try:
            for job, answer in zip(todo, await asyncio.gather(*tasks), strict=True):
                if answer is not None:
                    answers[job.key] = answer
        except FatalError as exc:
            raise JudgeError(f"judge {self.config.name!r}: {exc}") from None
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self._check_refused(len(todo))
        return answers

    async def _one(self, job: Job, gate: asyncio.Semaphore) -> Answer | None:
        async with gate:
            bound_in, bound_out = job.bound
            if not self.budget.reserve(bound_in, bound_out):
                return None
            try:
                return await self._ask(job)
            finally:
                self.budget.release(bound_in, bound_out)
                self.on_done(1)

    async def _ask(self, job: Job) -> Answer:
        attempts = 0

        def count() -> None:
            nonlocal attempts
            attempts += 1
            self.counters.requests += 1

        label = f"judge {self.config.name!r}"

        def call() -> Awaitable[Completion]:
            return self.backend.complete(job.system, job.user, job.max_tokens)

        try:
            done = await call_with_retries(call, self.policy, label=label, on_attempt=count)
        except (TransientError, RequestError) as exc:
            log.warning("%s: a judgement failed after %d attempt(s): %s", label, attempts, exc)
            return Answer(None, error=str(exc))
        finally:
            self.counters.retries += max(0, attempts - 1)
        # Persist first: from here on, a kill loses nothing that was paid for.
        text = redact(done.text)
        self.cache.put(job.key, backend=self.config.backend, model=self.model_identity, rubric=self.rubric,
                       text=text, input_tokens=done.input_tokens, output_tokens=done.output_tokens)
        self.budget.spend(done.input_tokens, done.output_tokens)
        self.counters.input_tokens += done.input_tokens
        self.counters.output_tokens += done.output_tokens
        return Answer(text)

    def _check_refused(self, todo: int) -> None:
        if self.budget.refused:
            spent = f"{self.budget.spent_tokens} tokens"
            if self.budget.price is not None:
                spent += f" (${self.budget.spent_usd:.4f})"
            raise BudgetExceeded(f"judge {self.config.name!r}: budget reached after {spent}; "
                                 f"{self.budget.refused} of {todo} judgements were not sent",
                                 hint="every answer so far is cached; raise the budget and rerun to finish")
