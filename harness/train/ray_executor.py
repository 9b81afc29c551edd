"""The Ray executor: trials as Ray actor calls, one GPU per worker when GPUs exist.

Each worker is an actor that loads and quantizes the base once and tokenizes
the data once, then trains the trials it is given (fresh LoRA weights each)
through the same trial core as the local executor, so skip and resume work the
same. Finished trials are reported as they come back. On a machine without
GPUs a local Ray instance runs one CPU worker.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.config import SuiteConfig, TrialSpec
from harness.errors import ConfigError
from harness.models.loading import LoadedModel
from harness.progress import debugging
from harness.results import TrialResult
from harness.train.trials import TrialDone


class _Worker:
    def __init__(self, suite: SuiteConfig) -> None:
        from harness.models.suite_base import load_suite_base
        from harness.train.trials import prepare_data

        self.suite = suite
        self.loaded = load_suite_base(suite)
        self.data = prepare_data(suite, self.loaded)

    def train(self, spec: TrialSpec, out: str) -> tuple[str, bool]:
        from harness.train.trials import run_or_reuse

        result, reused = run_or_reuse(self.suite, self.loaded, self.data, spec, Path(out))
        return result.model_dump_json(), reused


class RayExecutor:
    """Trials spread over ``workers`` actors (default: one per GPU, else one), each with its own base."""

    name = "ray"

    def __init__(self, *, workers: int | None = None, address: str | None = None) -> None:
        self.workers = workers
        self.address = address
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
        if loaded is not None:
            raise ConfigError(
                "the ray executor loads the base in each of its workers; a model loaded in this "
                "process cannot be shipped to Ray actors",
                key="executor",
                hint="pass loaded=None, or use executor 'local'",
            )
        import ray
        import torch

        gpus = torch.cuda.device_count()
        if not ray.is_initialized():
            kwargs: dict[str, Any] = (
                {"address": self.address} if self.address else {"num_cpus": max(1, self.workers or 1)}
            )
            # Ray sets its own logger up when imported; logging_level is its switch for the driver.
            level = logging.INFO if debugging() else logging.ERROR
            ray.init(include_dashboard=False, log_to_driver=False, ignore_reinit_error=True,
                     logging_level=level, **kwargs)
        n = self.workers or max(1, gpus)
        actor: Any = ray.remote(num_gpus=1 if gpus else 0, num_cpus=1)(_Worker)
        pool: list[Any] = [actor.remote(suite) for _ in range(n)]
        self.base_loads = n
        try:
            pending = [pool[i % n].train.remote(spec, str(out)) for i, spec in enumerate(specs)]
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                payload, reused = ray.get(ready[0])
                on_done(TrialResult.model_validate_json(payload), reused)
        finally:
            for worker in pool:
                ray.kill(worker)
