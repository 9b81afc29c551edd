"""Baselines: the last accepted run, stored with every hash that makes runs comparable.

``harness baseline accept DIR`` writes a lockfile holding the run's results and
hashes. Comparing a new run against a baseline whose hashes differ (data,
template, base, scorer version...) is refused, naming what changed.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.errors import BaselineError
from harness.io import atomic_write_text
from harness.results import RunResults, load_results

# Hashes that must match for two runs to be comparable; adapters are what a baseline compares.
COMPARABLE = ("base", "tokenizer", "template", "data", "scorer", "eval_data", "general_data", "mmlu", "judge")


def default_lock(folder: Path) -> Path:
    return folder.parent / "baseline.lock.json"


def accept_baseline(folder: Path, lock: Path | None = None) -> Path:
    path = folder / "results.json"
    if not path.is_file():
        raise BaselineError(f"{path}: no results.json to accept")
    results = load_results(path)  # a malformed file is a DataError naming it
    target = lock or default_lock(folder)
    atomic_write_text(
        target,
        json.dumps(
            {"version": 1, "results": results.model_dump(mode="json"), "hashes": results.hashes}, indent=2
        ),
    )
    return target


def load_baseline(lock: Path) -> RunResults:
    if not lock.is_file():
        raise BaselineError(f"{lock}: no baseline (run `harness baseline accept DIR`)")
    try:
        data = json.loads(lock.read_text(encoding="utf-8"))
        return RunResults.model_validate(data["results"])
    except (ValueError, KeyError, TypeError):
        raise BaselineError(f"{lock}: not a baseline lockfile") from None


def check_comparable(current: RunResults, baseline: RunResults) -> None:
    changed = [
        key
        for key in COMPARABLE
        if key in current.hashes and key in baseline.hashes and current.hashes[key] != baseline.hashes[key]
    ]
    if changed:
        raise BaselineError(
            f"baseline is not comparable: {', '.join(changed)} changed since it was accepted",
            hint="accept a new baseline if the change is intended",
        )
