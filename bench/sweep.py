"""Sweep overhead: 4 trials x 30 steps on the demo data, one base load.

``ratio`` = sum of bare training-step time (a TrainerCallback times each step)
/ sweep wall time (base load, tokenization, LoRA and trainer set-up, the
final validation pass of each trial, saving included); >= 0.87 means the
harness adds at most ~15%. Importing the training stack (torch, transformers,
peft, trl) is process start-up, paid once by any caller: it happens before the
clock starts and is reported on its own as ``import_s``. ``identical``: one of the trials,
rerun alone in a fresh process with the same seed, gives the same loss curve.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

SUITE = """
name: bench-sweep
base: {{path: {root}/suites/demo/model, load_in_4bit: true, stop_token_ids: [1, 2]}}
data: {{train: {root}/suites/demo/train.jsonl, eval: {root}/suites/demo/eval.jsonl}}
audit: {{enabled: false}}
sweep:
  max_seq_len: 128
  eval_every: 1000
  defaults:
    max_steps: {steps}
    batch_size: 16
    learning_rate: 0.01
    trainable_tokens: ["<0x7B>", "<0x7D>", "</s>"]
  trials:
    - {{name: t1, r: 4, lora_alpha: 8, target_modules: [q_proj, v_proj]}}
    - {{name: t2, r: 8, lora_alpha: 16, target_modules: all-linear}}
    - {{name: t3, r: 16, lora_alpha: 32, target_modules: all-linear}}
    - {{name: t4, r: 16, lora_alpha: 16, target_modules: [q_proj, k_proj, v_proj, o_proj]}}
"""

ALONE = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from harness.suite import load_suite
    from harness.models.suite_base import load_suite_base
    from harness.train.trials import prepare_data
    from harness.train.run import train_trial
    suite = load_suite(sys.argv[1])
    spec = next(s for s in suite.sweep.expand() if s.label() == sys.argv[2])
    loaded = load_suite_base(suite)
    data = prepare_data(suite, loaded)
    result = train_trial(loaded, spec, suite.sweep, data, Path(sys.argv[3]), config_hash="x")
    print(json.dumps([p.loss for p in result.train_loss]))
""")


def run(argv: list[str]) -> dict[str, Any]:
    t0 = time.perf_counter()
    from harness.suite import load_suite
    from harness.train.run import import_training_stack
    from harness.train.sweep import run_sweep

    import_training_stack()
    import_s = time.perf_counter() - t0

    ap = argparse.ArgumentParser(prog="bench sweep")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--check-trial", default="t3")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        suite_path = Path(tmp) / "suite.yaml"
        suite_path.write_text(SUITE.format(root=ROOT, steps=args.steps))
        suite = load_suite(suite_path)
        start = time.perf_counter()
        sweep = run_sweep(suite, Path(tmp) / "out")
        wall = time.perf_counter() - start
        steps = sum(t.step_s for t in sweep.trials)
        curve = next(t for t in sweep.trials if t.name == args.check_trial).train_loss
        alone = subprocess.run(
            [sys.executable, "-c", ALONE, str(suite_path), args.check_trial, str(Path(tmp) / "alone")],
            capture_output=True,
            text=True,
            check=True,
        )
        alone_curve = json.loads(alone.stdout.strip().splitlines()[-1])
    identical = [p.loss for p in curve] == alone_curve
    return {
        "ours_s": round(wall, 3),
        "anchor_s": round(steps, 3),
        "ratio": round(steps / wall, 4),
        "identical": identical,
        "overhead_pct": round(100 * (wall - steps) / wall, 2),
        "import_s": round(import_s, 3),
        "trials_wall_s": round(sum(t.wall_s for t in sweep.trials), 3),
        "trials": len(sweep.trials),
        "steps_per_trial": args.steps,
        "base_loads": sweep.base_loads,
        "per_trial": {
            t.name: {
                "wall_s": round(t.wall_s, 3),
                "step_s": round(t.step_s, 3),
                "trainable_params": t.trainable_params,
            }
            for t in sweep.trials
        },
    }
