"""Executors: strategies that run a sweep's trials over the one trial core (:mod:`harness.train.trials`).

Every executor takes the same arguments and reports the same things: each
finished trial (trained or reused) to ``on_done`` as it finishes, and in
``base_loads`` how many base models its trials ran on. The sweep
(:func:`harness.train.sweep.run_sweep`) does the rest (order, ``sweep.json``,
the user's ``on_trial``), whichever executor ran.

- ``local``: this process, one base (the caller's ``loaded`` one, or loaded here
  once), trials one after another.
- ``ray``: Ray actors that each load the base once (one GPU each when there are
  GPUs); see :mod:`harness.train.ray_executor`. A model loaded in this process
  cannot be shipped to actors, so ``loaded`` is refused there with a clear error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from harness.config import SuiteConfig, TrialSpec
from harness.errors import ConfigError
from harness.models.loading import LoadedModel
from harness.models.suite_base import load_suite_base
from harness.train.trials import TrialDone, frozen_heap, prepare_data, run_or_reuse


class Executor(Protocol):
    """Runs trials of one suite into ``out``; see the module docstring for the contract."""

    name: str
    base_loads: int  # base models the trials ran on, so far

    def run(
        self,
        suite: SuiteConfig,
        specs: Sequence[TrialSpec],
        out: Path,
        *,
        loaded: LoadedModel | None,
        on_done: TrialDone,
    ) -> None: ...


class LocalExecutor:
    """Trials one after another in this process, on one base."""

    name = "local"

    def __init__(self) -> None:
        self.base_loads = 0

    def run(
        self,
        suite: SuiteConfig,
        specs: Sequence[TrialSpec],
        out: Path,
        *,
        loaded: LoadedModel | None,
        on_done: TrialDone,
    ) -> None:
        base = loaded if loaded is not None else load_suite_base(suite)
        self.base_loads = 1  # the caller's base counts: the trials ran on it
        data = prepare_data(suite, base)
        with frozen_heap():
            for spec in specs:
                on_done(*run_or_reuse(suite, base, data, spec, out))


def _ray() -> Executor:
    from harness.train.ray_executor import RayExecutor  # ray is optional: imported only when chosen

    return RayExecutor()


EXECUTORS: dict[str, Callable[[], Executor]] = {"local": LocalExecutor, "ray": _ray}


def get_executor(name: str) -> Executor:
    """A fresh executor by name; an unknown name lists the known ones."""
    factory = EXECUTORS.get(name)
    if factory is None:
        raise ConfigError(f"unknown executor {name!r}; known: {', '.join(EXECUTORS)}", key="executor")
    return factory()
