"""Four adapters scored on one base load vs reloading the base (and the adapter) for each model.

Workload: the demo suite's held-out scoring (``suites/demo.yaml``; ``--metrics``
picks the metrics, default generation + JSON + perplexity; MMLU has its own
benchmark, ``loglik``) for the base and four real adapters trained here once
(untimed, kept in ``--adapters-dir``). No cache on either side.

* **ours**: one ``harness.score.engine.run_models`` call: the base is loaded once,
  scored, then each adapter is attached to it (``load_adapter``) and scored.
* **anchor** (reload path): the base scored in its own run, then each adapter in
  its own run that loads the base and that one adapter again. Both sides score
  the same five models on the same items; only the loading differs.

Each side is timed twice: as separate processes (``*_s``: one command vs five
commands, each paying interpreter start, imports and model loading: how a CI
job that scores adapter by adapter runs) and inside this one process
(``*_inprocess_s``: after one untimed warm-up run, so imports are already paid
and only ``load_base`` and the adapter load repeat). ``ratio`` is the process
figure; ``ratio_inprocess`` is reported beside it. ``identical``: every model's
raw per-item results (outputs, token NLLs) are equal on all four runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SPECS = {"a20": (20, 0, 8), "a35": (35, 1, 8), "a50": (50, 2, 4), "a80": (80, 3, 8)}  # steps, seed, rank


def _args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench adapters")
    p.add_argument("--suite", default=str(REPO / "suites" / "demo.yaml"))
    p.add_argument("--metrics", default="exact_match,json,perplexity")
    p.add_argument("--adapters-dir", default=str(Path(tempfile.gettempdir()) / "harness-bench-adapters"))
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (every run)")
    return p.parse_args(argv)


def ensure_adapters(suite_path: str, folder: Path) -> dict[str, Path]:
    """Train the four benchmark adapters once (the harness's own QLoRA trial); reuse them after."""
    wanted = {name: folder / name / "adapter" for name in SPECS}
    missing = [n for n, p in wanted.items() if not (p / "adapter_config.json").is_file()]
    if not missing:
        return wanted
    from harness.config import SweepConfig, TrialSpec
    from harness.models.suite_base import load_suite_base
    from harness.suite import load_suite
    from harness.train.run import train_trial
    from harness.train.trials import prepare_data

    suite = load_suite(suite_path)
    loaded = load_suite_base(suite)
    data = prepare_data(suite, loaded)
    for name in missing:
        steps, seed, rank = SPECS[name]
        spec = TrialSpec(name=name, r=rank, lora_alpha=2 * rank, max_steps=steps, batch_size=16,
                         learning_rate=1e-2, seed=seed, trainable_tokens=["<0x7B>", "<0x7D>", "</s>"])
        train_trial(loaded, spec, SweepConfig(eval_every=steps, max_seq_len=suite.sweep.max_seq_len), data,
                    folder / name, config_hash=name)
    return wanted


def _suite(path: str, metrics: list[str]) -> Any:
    from harness.suite import load_suite

    suite = load_suite(path)
    return suite.model_copy(update={"score": suite.score.model_copy(update={"metrics": metrics})})


def score(path: str, metrics: list[str], adapters: dict[str, str], include_base: bool) -> dict[str, Any]:
    """Raw per-item results of one run (the base is loaded inside, as a fresh run would)."""
    from harness.score.engine import run_models

    run = run_models(_suite(path, metrics), adapters, progress=False, include_base=include_base)
    return {"raw": run.raw, "loads": run.base_loads}


def _child(spec_file: str) -> int:
    spec = json.loads(Path(spec_file).read_text(encoding="utf-8"))
    import torch

    torch.set_num_threads(spec["threads"])
    out = score(spec["suite"], spec["metrics"], spec["adapters"], spec["include_base"])
    Path(spec["out"]).write_text(json.dumps(out), encoding="utf-8")
    return 0


def _process(tmp: Path, tag: str, args: argparse.Namespace, adapters: dict[str, str],
             include_base: bool) -> tuple[float, dict[str, Any]]:
    spec = {"suite": args.suite, "metrics": args.metrics.split(","), "adapters": adapters,
            "include_base": include_base, "threads": args.threads, "out": str(tmp / f"{tag}.out.json")}
    (tmp / f"{tag}.json").write_text(json.dumps(spec), encoding="utf-8")
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    start = time.perf_counter()
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(tmp / f"{tag}.json")],
                   check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    took = time.perf_counter() - start
    return took, json.loads(Path(spec["out"]).read_text(encoding="utf-8"))


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in parts:
        merged.update(part["raw"])
    return merged


def run(argv: list[str]) -> dict[str, Any]:
    args = _args(argv)
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    metrics = args.metrics.split(",")
    adapters = {n: str(p) for n, p in ensure_adapters(args.suite, Path(args.adapters_dir)).items()}
    with tempfile.TemporaryDirectory() as tmp:
        ours_s, ours = _process(Path(tmp), "ours", args, adapters, True)
        anchor_runs = [_process(Path(tmp), "base", args, {}, True)]
        anchor_runs += [_process(Path(tmp), n, args, {n: p}, False) for n, p in adapters.items()]
    anchor_s = sum(t for t, _ in anchor_runs)
    anchor = _merge([r for _, r in anchor_runs])

    first = next(iter(adapters))
    score(args.suite, metrics, {first: adapters[first]}, False)  # warm-up: imports and first calls, untimed
    start = time.perf_counter()
    ours_in = score(args.suite, metrics, adapters, True)
    ours_in_s = time.perf_counter() - start
    start = time.perf_counter()
    parts = [score(args.suite, metrics, {}, True)] + [score(args.suite, metrics, {n: p}, False)
                                                     for n, p in adapters.items()]
    anchor_in_s = time.perf_counter() - start

    reference = json.dumps(ours["raw"], sort_keys=True)
    same = [json.dumps(x, sort_keys=True) == reference
            for x in (anchor, json.loads(json.dumps(ours_in["raw"])), json.loads(json.dumps(_merge(parts))))]
    return {
        "ours_s": ours_s, "anchor_s": anchor_s, "ratio": anchor_s / ours_s, "identical": all(same),
        "ours_inprocess_s": ours_in_s, "anchor_inprocess_s": anchor_in_s,
        "ratio_inprocess": anchor_in_s / ours_in_s,
        "base_loads_ours": ours["loads"], "base_loads_anchor": sum(r["loads"] for _, r in anchor_runs),
        "anchor_process_s": [t for t, _ in anchor_runs], "adapters": len(adapters), "metrics": metrics,
        "eval_items": len(ours["raw"]["base"].get("gen", {})),
        "distinct_adapter_outputs": len({json.dumps(ours["raw"][n].get("gen"), sort_keys=True)
                                         for n in adapters}),
        "torch_threads": args.threads,
    }


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        raise SystemExit(_child(sys.argv[2]))
    print(json.dumps(run(sys.argv[1:])))
