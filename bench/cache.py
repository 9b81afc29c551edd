"""Rerun of the demo scoring with a warm cache: no base forward pass, same results.

The demo suite's whole scoring (``suites/demo.yaml``: exact match, JSON, both
perplexities, MMLU through lm-eval) for the base and the four ``adapters``
benchmark adapters (trained once, untimed). ``anchor_s``: the cold run into a
fresh cache file; ``ours_s``: the best of ``--repeats`` warm reruns (a new
process-level run each time: plan, hashes, cache lookups, metrics, comparisons).
``base_forward_passes`` and ``base_loads`` are counted on the warm rerun (a
pre-forward hook on the model; loads by the engine). ``identical``: the warm
results (models, comparisons, every item row) equal the cold ones. Then one byte
of one adapter's weights is flipped and the run repeated: only that adapter's
items are recomputed (``changed_adapter_forward_passes``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench cache")
    p.add_argument("--suite", default=str(REPO / "suites" / "demo.yaml"))
    p.add_argument("--adapters-dir", default=str(Path(tempfile.gettempdir()) / "harness-bench-adapters"))
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    return p.parse_args(argv)


def _dump(ev: Any) -> str:
    rows = [i.model_dump() for i in ev.items]
    return json.dumps([ev.models, [c.model_dump() for c in ev.comparisons], rows], sort_keys=True)


def run(argv: list[str]) -> dict[str, Any]:
    args = _args(argv)
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from bench.adapters import ensure_adapters
    from harness.score.engine import run_models, summarize
    from harness.suite import load_suite

    torch.set_num_threads(args.threads)
    trained = ensure_adapters(args.suite, Path(args.adapters_dir))
    suite = load_suite(args.suite)
    with tempfile.TemporaryDirectory() as tmp:
        adapters = {}
        for name, path in trained.items():  # private copies: one gets a byte flipped below
            adapters[name] = Path(tmp) / name
            shutil.copytree(path, adapters[name])
        cache = Path(tmp) / "scores.sqlite"
        start = time.perf_counter()
        cold_run = run_models(suite, adapters, cache_path=cache, progress=False)
        cold = summarize(suite, cold_run)
        anchor_s = time.perf_counter() - start
        warm_times, warm_run = [], cold_run
        for _ in range(args.repeats):
            start = time.perf_counter()
            warm_run = run_models(suite, adapters, cache_path=cache, progress=False)
            warm = summarize(suite, warm_run)
            warm_times.append(time.perf_counter() - start)
        changed = next(iter(adapters))
        weights = adapters[changed] / "adapter_model.safetensors"
        data = bytearray(weights.read_bytes())
        data[-3] ^= 0x01
        weights.write_bytes(bytes(data))
        after = run_models(suite, adapters, cache_path=cache, progress=False)
    ours_s = min(warm_times)
    return {
        "ours_s": ours_s, "anchor_s": anchor_s, "ratio": anchor_s / ours_s,
        "identical": _dump(warm) == _dump(cold),
        "base_forward_passes": warm_run.forward_passes["base"],
        "forward_passes_warm": sum(warm_run.forward_passes.values()),
        "forward_passes_cold": cold_run.forward_passes, "base_loads": warm_run.base_loads,
        "warm_runs_s": warm_times, "changed_adapter": changed,
        "changed_adapter_forward_passes": after.forward_passes,
        "models": len(cold.models), "items": len(cold.items), "metrics": list(suite.score.metrics),
        "torch_threads": args.threads,
    }
