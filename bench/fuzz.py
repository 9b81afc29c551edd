"""Fuzz benchmark: N generated hostile inputs through every loader and the suite parser.

Reports how many inputs were tried and how many ended in anything other than
records or a HarnessError (``uncaught``, must be 0). There is no anchor
implementation: ``anchor_s`` equals ``ours_s`` and ``ratio`` is 1.0;
``identical`` is true when every outcome is records or a HarnessError.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

from harness.data import load_records
from harness.errors import HarnessError
from harness.suite import load_suite
from harness.testing.fuzzing import GENERATORS


def run(argv: list[str]) -> dict[str, Any]:
    ap = argparse.ArgumentParser(prog="bench fuzz")
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    outcomes: Counter[str] = Counter()
    uncaught: list[str] = []
    kinds = list(GENERATORS)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.n):
            kind = kinds[i % len(kinds)]
            suffix, make = GENERATORS[kind]
            path = Path(tmp) / f"in{i % 50}{suffix}"
            path.write_bytes(make(rng))
            try:
                if kind == "suite":
                    load_suite(path)
                else:
                    load_records(path)
                outcomes[f"{kind}:ok"] += 1
            except HarnessError:
                outcomes[f"{kind}:harness_error"] += 1
            except Exception:  # what the contract forbids
                uncaught.append(f"{kind} #{i}: {traceback.format_exc(limit=2).splitlines()[-1]}")
    ours = time.perf_counter() - start
    return {
        "ours_s": round(ours, 3),
        "anchor_s": round(ours, 3),
        "ratio": 1.0,
        "identical": not uncaught,
        "inputs": args.n,
        "uncaught": len(uncaught),
        "outcomes": dict(outcomes),
        "examples": uncaught[:5],
    }
