"""The Ray executor: trials as Ray actor calls, one GPU per worker when GPUs exist.

Each worker is an actor that loads and quantizes the base once and tokenizes
the data once, then trains the trials it is given (fresh LoRA weights each),
with the same skip/resume logic as the local executor. On a machine without
GPUs a local Ray instance runs one CPU worker.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from harness.config import SuiteConfig, TrialSpec
from harness.results import SweepResult, TrialResult


class _Worker:
    def __init__(self, suite: SuiteConfig) -> None:
        from harness.train.sweep import load_suite_base, prepare_data

        self.suite = suite
        self.loaded = load_suite_base(suite)
        self.data = prepare_data(suite, self.loaded)

    def train(self, spec: TrialSpec, out: str) -> tuple[str, bool]:
        from harness.train.sweep import run_or_reuse

        result, reused = run_or_reuse(self.suite, self.loaded, self.data, spec, Path(out))
        return result.model_dump_json(), reused


def run_sweep_ray(
    suite: SuiteConfig, out: Path, *, workers: int | None = None, address: str | None = None
) -> SweepResult:
    import ray

    from harness.train.sweep import write_sweep

    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    gpus = torch.cuda.device_count()
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"address": address} if address else {"num_cpus": max(1, (workers or 1))}
        ray.init(include_dashboard=False, log_to_driver=False, ignore_reinit_error=True, **kwargs)
    n = workers or max(1, gpus)
    actor: Any = ray.remote(num_gpus=1 if gpus else 0, num_cpus=1)(_Worker)
    pool: list[Any] = [actor.remote(suite) for _ in range(n)]
    specs = suite.sweep.expand()
    futures = [pool[i % n].train.remote(spec, str(out)) for i, spec in enumerate(specs)]
    results: list[TrialResult] = []
    skipped: list[str] = []
    for spec, (payload, reused) in zip(specs, ray.get(futures), strict=True):
        results.append(TrialResult.model_validate_json(payload))
        if reused:
            skipped.append(spec.label())
    for worker in pool:
        ray.kill(worker)
    return write_sweep(out, results, n, start, skipped, "ray")
