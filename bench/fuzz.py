"""Fuzz benchmark: N generated hostile inputs through the harness's entry points, in this process, each
under a time and a memory cap.

Two families, taken in turn:

- files (:data:`harness.testing.fuzzing.GENERATORS`): JSONL, JSON, CSV bytes through
  every loader and suite YAML through the suite parser;
- attacks (:data:`harness.testing.attacks.ATTACKS`): hostile names, paths and YAML
  aliases, through :func:`harness.suite.load_suite` (then the folders a run would
  derive from the suite's names, and the output lock) or :func:`harness.cli.main`.

Counted: ``uncaught`` (anything other than a clean exit or a one-line
:class:`~harness.errors.HarnessError`; from the CLI, an ``internal error`` line),
``over_cap`` (a MemoryError under the address-space cap, or past the time cap), and
``escaped`` (a derived folder outside ``reports/`` or ``trials/``). All three must be
0. The memory cap is ``RLIMIT_AS`` for this process, set to what it uses after the
imports plus ``--mem-mb``; the time cap a ``SIGALRM`` per input. There is no anchor
implementation: ``anchor_s`` equals ``ours_s`` and ``ratio`` is 1.0; ``identical``
is true when all three counts are 0.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import resource
import signal
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from harness.cli import main as cli_main
from harness.data import load_records
from harness.errors import HarnessError
from harness.suite import load_suite
from harness.testing.attacks import ATTACKS, Attack
from harness.testing.fuzzing import GENERATORS


class OverTime(BaseException):
    """The per-input time cap passed."""


@contextlib.contextmanager
def time_cap(seconds: float) -> Iterator[None]:
    def expire(*_: Any) -> None:
        raise OverTime

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def memory_cap(extra_mb: int) -> Iterator[int]:
    """``RLIMIT_AS`` at this process's current size plus ``extra_mb``; restored after."""
    with open("/proc/self/statm") as fh:
        size = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    before = resource.getrlimit(resource.RLIMIT_AS)
    cap = size + extra_mb * (1 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (cap, before[1]))
    try:
        yield cap
    finally:
        resource.setrlimit(resource.RLIMIT_AS, before)


Outcome = tuple[str, str] | None  # (label, what) when the contract broke, None when it held


def derived_escapes(suite_path: str) -> Outcome:
    """Load a suite, then check what a run would derive from its names: the default output folder
    stays under reports/, every trial folder under <out>/trials/, and the output lock can be taken."""
    from harness.lock import output_lock
    from harness.paths import inside
    from harness.pipeline import default_out
    from harness.train.trials import trial_dir

    suite = load_suite(suite_path)
    out = default_out(suite)
    if out.resolve().parent != Path("reports").resolve():
        return "escaped", f"default output folder {out} is not directly under reports/"
    for spec in suite.sweep.expand():
        if not inside(out / "trials", trial_dir(out, spec)):
            return "escaped", f"trial {spec.label()!r} maps outside {out}/trials"
    with output_lock(Path(suite_path).parent / "locked"):
        pass
    return None


def run_cli(argv: tuple[str, ...]) -> Outcome:
    """The CLI in this process: uncaught when it reported an internal error (or a multi-line one)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli_main(list(argv))
    lines = [ln for ln in err.getvalue().splitlines() if ln.startswith("harness: ")]
    crashed = any("internal error" in ln for ln in lines)
    if code not in (0, 1, 2) or crashed or (code == 2 and len(lines) != 1):
        return "uncaught", (lines[-1] if lines else f"exit {code}")
    return ("harness_error", "") if code == 2 else ("ok", "")


def one(kind: str, rng: random.Random, scratch: Path, i: int) -> tuple[str, Callable[[], Outcome]]:
    """The input number ``i`` of ``kind``: what it is, and a call that runs it."""
    if kind in ATTACKS:
        attack: Attack = ATTACKS[kind](rng, scratch, i)
        if attack.entry == "cli":
            shown = repr([a if len(a) < 80 else a[:40] + "..." for a in attack.args])
            return f"{attack.what}: harness {shown}", lambda: run_cli(attack.args)
        return attack.what, lambda: derived_escapes(attack.args[0])
    suffix, make = GENERATORS[kind]
    path = scratch / f"in{i}{suffix}"
    path.write_bytes(make(rng))
    if kind == "suite":
        return "suite bytes", lambda: (load_suite(path), None)[1]
    return f"{kind} bytes", lambda: (load_records(path), None)[1]


def run(argv: list[str]) -> dict[str, Any]:
    ap = argparse.ArgumentParser(prog="bench fuzz")
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-s", type=float, default=20.0, help="time cap per input")
    ap.add_argument("--mem-mb", type=int, default=2048, help="address space beyond the start, per process")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    outcomes: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    examples: list[str] = []
    kinds = [*GENERATORS, *ATTACKS]
    slowest = (0.0, "")
    import harness.judge.run
    import harness.pipeline  # noqa: F401

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, memory_cap(args.mem_mb) as cap, _chdir(Path(tmp)):
        for i in range(args.n):
            kind = kinds[i % len(kinds)]
            scratch = Path(tmp) / f"s{i % 64}"
            _fresh(scratch)
            t0 = time.perf_counter()
            label, detail = _attempt(kind, rng, scratch, i, args.time_s)
            took = time.perf_counter() - t0
            slowest = max(slowest, (took, f"{kind} #{i}"))
            outcomes[f"{kind}:{label}"] += 1
            if label in {"uncaught", "over_cap", "escaped"}:
                failures[label] += 1
                if len(examples) < 10:
                    examples.append(f"{kind} #{i} {label}: {detail}"[:400])
    ours = time.perf_counter() - start
    return {
        "ours_s": round(ours, 3), "anchor_s": round(ours, 3), "ratio": 1.0, "identical": not failures,
        "inputs": args.n, "uncaught": failures["uncaught"], "over_cap": failures["over_cap"],
        "escaped": failures["escaped"], "time_cap_s": args.time_s, "memory_cap_mb": cap >> 20,
        "slowest_s": round(slowest[0], 3), "slowest": slowest[1], "outcomes": dict(sorted(outcomes.items())),
        "examples": examples,
    }


def _attempt(kind: str, rng: random.Random, scratch: Path, i: int, seconds: float) -> tuple[str, str]:
    what = "?"
    try:
        with time_cap(seconds):
            what, call = one(kind, rng, scratch, i)
            broke = call()
    except HarnessError as exc:
        if "\n" in str(exc):
            return "uncaught", f"{what}: a multi-line error: {str(exc)[:200]!r}"
        return "harness_error", ""
    except (MemoryError, OverTime) as exc:
        return "over_cap", f"{what}: {type(exc).__name__}"
    except Exception:  # what the contract forbids
        return "uncaught", f"{what}: {traceback.format_exc(limit=3).strip().splitlines()[-1]}"
    if broke is None:
        return "ok", ""
    return broke[0], f"{what}: {broke[1]}" if broke[1] else ""


def _fresh(scratch: Path) -> None:
    import shutil

    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir()


@contextlib.contextmanager
def _chdir(folder: Path) -> Iterator[None]:
    """Run in ``folder``: whatever a default output folder writes stays in the scratch space."""
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)
