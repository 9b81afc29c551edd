"""A sweep: every trial of the suite through an executor, resumable, recorded in ``sweep.json``.

Which executor runs the trials (:mod:`harness.train.executors`) changes where
they run, not what is recorded: trials in the suite's order, the reused ones
named in ``skipped``, the executor's own ``base_loads``. ``sweep.json`` is
rewritten (atomically) after every finished trial, so a killed sweep leaves the
trials it finished; a rerun reuses them (:mod:`harness.train.trials`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from harness.config import SuiteConfig
from harness.lock import output_lock
from harness.models.loading import LoadedModel
from harness.progress import line, summary
from harness.results import SweepResult, TrialResult, write_json
from harness.train.executors import Executor, get_executor


def run_sweep(
    suite: SuiteConfig,
    out: Path,
    *,
    loaded: LoadedModel | None = None,
    executor: str | Executor = "local",
    on_trial: Callable[[TrialResult], None] | None = None,
) -> SweepResult:
    """Run (or resume) every trial; return the sweep with every finished trial.

    ``executor``: a name (``local``, ``ray``) or an :class:`Executor`. ``loaded``: a base
    already in memory, trained on as is (the local executor; Ray refuses it).
    ``on_trial`` is called with every trial as it finishes, trained or reused.
    """
    with output_lock(out):
        return _sweep(suite, out, loaded=loaded, runner=get_executor(executor) if isinstance(executor, str)
                      else executor, on_trial=on_trial)


def _sweep(suite: SuiteConfig, out: Path, *, loaded: LoadedModel | None, runner: Executor,
           on_trial: Callable[[TrialResult], None] | None) -> SweepResult:
    start = time.perf_counter()
    specs = suite.sweep.expand()
    order = [spec.label() for spec in specs]
    done: dict[str, tuple[TrialResult, bool]] = {}

    def record() -> SweepResult:
        finished = [done[name] for name in order if name in done]
        sweep = SweepResult(
            trials=[result for result, _ in finished],
            base_loads=runner.base_loads,
            wall_s=time.perf_counter() - start,
            skipped=[result.name for result, reused in finished if reused],
            executor=runner.name,
        )
        write_json(sweep, out / "sweep.json")
        return sweep

    def on_done(result: TrialResult, reused: bool) -> None:
        done[result.name] = (result, reused)
        line(f"  {trial_line(result, reused)}")
        record()
        if on_trial is not None:
            on_trial(result)

    runner.run(suite, specs, out, loaded=loaded, on_done=on_done)
    sweep = record()
    summary("sweep", f"{counted(len(sweep.trials), 'trial')} ({len(sweep.skipped)} reused), executor "
            f"{sweep.executor} with {counted(sweep.base_loads, 'base load')}, {sweep.wall_s:.1f}s "
            f"-> {out / 'sweep.json'}")
    return sweep


def counted(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def trial_line(result: TrialResult, reused: bool) -> str:
    if reused:
        return f"{result.name}: finished earlier, reused"
    last = result.train_loss[-1].loss if result.train_loss else float("nan")
    return f"{result.name}: {result.steps} steps in {result.wall_s:.1f}s, final train loss {last:.4f}"

