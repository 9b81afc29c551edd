"""Run several judges over the same items: everything checked first, then all judges at once.

Rubrics, anchors, references, keys and prices are validated before the first
request, so a bad suite fails in a second instead of after paying for half a
run. Judges run concurrently (each with its own concurrency bound). A judge that
stops while judging (a 401, its budget, an unreachable server) does not raise:
its :class:`JudgeRun` records why (``error``) and the others finish; its
``problem`` says whether its figures can be trusted, and gates read that.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from rich.progress import Progress

from harness.errors import ConfigError, HarnessError, JudgeError
from harness.judge import aggregate
from harness.judge.backends import Backend, backend_class, backend_identity, make_backend
from harness.judge.backends.registry import class_path
from harness.judge.budget import Budget, Price, price_for
from harness.judge.cache import VerdictCache
from harness.judge.calibration import calibrate, judge_agreement
from harness.judge.config import JudgeConfig
from harness.judge.engine import Engine
from harness.judge.items import Anchor, JudgeItem, anchor_items, load_anchors, sample_items
from harness.judge.jobs import Planned, plan_jobs
from harness.judge.results import ItemVerdict, JudgeReport, JudgeRun
from harness.judge.rubrics import Rubric, load_rubric
from harness.judge.secrets import api_key
from harness.progress import progress_bar

T = TypeVar("T")


@dataclass(frozen=True)
class Prepared:
    """One judge, ready to run: nothing here has cost anything yet."""

    config: JudgeConfig
    rubric: Rubric
    items: list[JudgeItem]
    planned: list[Planned]
    anchors: list[Anchor]
    anchor_planned: list[Planned]
    model_identity: str
    price: Price | None
    backend_name: str  # what results and the cache record: the config's backend, or the object's class
    instance: Backend | None = None  # an object passed to run_judges (the caller's to close)


@dataclass(frozen=True)
class Checked:
    """What a judge's config needs before any request, loaded and checked (:func:`check_judge`)."""

    rubric: Rubric
    anchors: list[Anchor]
    price: Price | None


def check_judge(config: JudgeConfig, rubric_dirs: Sequence[Path] = (), *, needs_key: bool = True) -> Checked:
    """Rubric (found, valid, of the judge's protocol), key, anchors and price: what can fail before a
    request. Suite loading calls it too, so a bad judge stops a run before any work."""
    rubric = load_rubric(config.rubric, rubric_dirs)
    if rubric.protocol != config.protocol:
        raise ConfigError(f"judge {config.name!r} is {config.protocol} but rubric {rubric.name!r} is "
                          f"{rubric.protocol}", key="protocol")
    if needs_key:
        api_key(config)  # a missing key fails here, before any other judge has sent anything
    anchors = load_anchors(config.anchors, config.protocol) if config.anchors else []
    price = price_for(config, rubric_dirs)
    Budget(config, price)  # a budget_usd without a known price fails here, before anything runs
    return Checked(rubric, anchors, price)


def prepare(config: JudgeConfig, items: Sequence[JudgeItem], rubric_dirs: Sequence[Path] = (),
            instance: Backend | None = None) -> Prepared:
    checked = check_judge(config, rubric_dirs, needs_key=instance is None)
    rubric, anchors, price = checked.rubric, checked.anchors, checked.price
    if instance is None:
        name, identity = config.backend, backend_identity(backend_class(config.backend), config)
    else:
        name, identity = class_path(instance), backend_identity(instance, config)
    chosen = sample_items([it for it in items if it.split in config.splits], config.sample)
    plan = functools.partial(plan_jobs, config, rubric, model_identity=identity, backend=name)
    return Prepared(config, rubric, chosen, plan(chosen), anchors, plan(anchor_items(anchors)), identity,
                    price, name, instance)


BackendArg = Backend | Mapping[str, Backend] | None


def run_judges(configs: Sequence[JudgeConfig], items: Sequence[JudgeItem], *, cache_path: Path,
               rubric_dirs: Sequence[Path] = (), progress: bool = True,
               backend: BackendArg = None) -> JudgeReport:
    """Judge ``items`` with every judge; verdicts are cached in ``cache_path`` as they arrive.

    Each judge sees the items of the splits its config names (default: ``eval``).
    ``backend``: an object to judge with instead of the configured backend (every judge), or a
    mapping judge name -> object; objects follow the :class:`Backend` protocol, and are the
    caller's to close. Bad input raises before any request; a judge that stops while judging
    is recorded in its :class:`JudgeRun` (``error``, ``problem``), the others finish.
    """
    names = [c.name for c in configs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"two judges are named {dupes[0]!r}; judge names must be unique", key="judges")
    ids = [it.item_id for it in items]
    if len(set(ids)) != len(ids):
        raise JudgeError("item ids must be unique: verdicts are reported per item")
    instances = _instances(backend, names)
    prepared = [prepare(c, items, rubric_dirs, instances.get(c.name)) for c in configs]
    return _run_sync(_run_all(prepared, Path(cache_path), progress))


def _instances(backend: BackendArg, names: Sequence[str]) -> dict[str, Backend]:
    if backend is None:
        return {}
    if not isinstance(backend, Mapping):
        return dict.fromkeys(names, backend)
    unknown = sorted(set(backend) - set(names))
    if unknown:
        raise ConfigError(f"backend= names no judge {unknown[0]!r}; judges: {', '.join(names)}")
    return dict(backend)


def _run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, also from code that already runs an event loop (a notebook, an async CLI)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _run_all(prepared: Sequence[Prepared], cache_path: Path, progress: bool) -> JudgeReport:
    with VerdictCache(cache_path) as cache, progress_bar(progress) as bar:
        results = await asyncio.gather(*(run_one(p, cache, bar) for p in prepared), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    runs = [r for r in results if isinstance(r, JudgeRun)]
    return JudgeReport(runs=runs, agreement=judge_agreement(runs))


async def run_one(p: Prepared, cache: VerdictCache, bar: Progress) -> JudgeRun:
    """One judge from prepared requests to its :class:`JudgeRun`."""
    jobs = [job for planned in (*p.planned, *p.anchor_planned) for job in planned.jobs]
    task = bar.add_task(f"judge {p.config.name}", total=len({j.key for j in jobs}))
    try:
        backend = p.instance or make_backend(p.config)
    except HarnessError as exc:  # e.g. a user backend whose constructor refused the config
        return _judge_run(p, aggregate.verdicts(p.planned, {}, p.rubric, stopped=str(exc)), error=str(exc))
    budget = Budget(p.config, p.price)
    engine = Engine(p.config, backend, cache, budget, backend_name=p.backend_name, rubric=p.rubric.name,
                    model_identity=p.model_identity, parses=aggregate.readable(p.rubric),
                    on_done=lambda n: bar.advance(task, n))
    started = time.perf_counter()
    try:
        answers = await engine.run(jobs)
    finally:
        if p.instance is None:
            await backend.aclose()
    wall = time.perf_counter() - started
    verdicts = aggregate.verdicts(p.planned, answers, p.rubric, stopped=engine.stopped)
    calibration = None
    if p.anchors and p.config.anchors:
        judged = aggregate.verdicts(p.anchor_planned, answers, p.rubric, stopped=engine.stopped)
        calibration = calibrate(p.config.anchors, p.anchors, judged, p.rubric)
    c = engine.counters
    return _judge_run(
        p, verdicts, error=engine.stopped, calibration=calibration, requests=c.requests, retries=c.retries,
        cache_hits=c.cache_hits, reasked=c.reasked, input_tokens=c.input_tokens,
        output_tokens=c.output_tokens, cost_usd=budget.spent_usd if p.price is not None else None,
        wall_s=round(wall, 3))


def _judge_run(p: Prepared, verdicts: list[ItemVerdict], **counts: Any) -> JudgeRun:
    pointwise = p.config.protocol == "pointwise"
    return JudgeRun(
        name=p.config.name, backend=p.backend_name, model=p.config.model, rubric=p.rubric.name,
        rubric_version=p.rubric.version, rubric_hash=p.rubric.content_hash, protocol=p.config.protocol,
        items=len(p.items), max_failed=p.config.max_failed,
        scores=aggregate.model_scores(verdicts) if pointwise else {},
        pairwise={} if pointwise else aggregate.pairwise_stats(verdicts),
        unparseable=sum(v.status == "unparseable" for v in verdicts),
        failed=sum(v.status == "error" for v in verdicts), verdicts=verdicts, **counts)
