"""A sweep: every trial of the suite, one base load per worker, resumable.

A finished trial leaves ``trials/<name>/trial.json``; its identity is a hash of
the trial config, the sweep settings, the data and the base, so a rerun skips
it, and a changed config or dataset retrains. A partial trial resumes from its
last checkpoint. ``sweep.json`` is rewritten (atomically) after every trial.
"""

from __future__ import annotations

import gc
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.config import SuiteConfig, TrialSpec
from harness.data import load_records
from harness.io import atomic_write_text, sha256_text
from harness.models.loading import LoadedModel, load_base
from harness.progress import console
from harness.results import SweepResult, TrialResult, write_json
from harness.train.run import TrialData, import_training_stack, train_trial, trial_hash
from harness.train.tokenize import tokenize_records


def trial_dir(out: Path, spec: TrialSpec) -> Path:
    return out / "trials" / re.sub(r"[^A-Za-z0-9_.+-]", "_", spec.label())


def load_suite_base(suite: SuiteConfig) -> LoadedModel:
    tmpl = suite.base.chat_template
    return load_base(
        suite.resolve(suite.base.path),
        load_in_4bit=suite.base.load_in_4bit,
        chat_template=str(suite.resolve(tmpl)) if tmpl and tmpl != "plain" else tmpl,
        stop_token_ids=suite.base.stop_token_ids,
    )


def prepare_data(suite: SuiteConfig, loaded: LoadedModel) -> TrialData:
    """Tokenize train and eval once for the whole sweep."""
    train = load_records(suite.resolve(suite.data.train), suite.data.format)
    evals = load_records(suite.resolve(suite.data.eval), suite.data.format)
    max_len = suite.sweep.max_seq_len
    data_hash = sha256_text(
        *(r.content_hash for r in train), "||", *(r.content_hash for r in evals), loaded.template
    )
    return TrialData(
        tokenize_records(loaded.tokenizer, train, max_len),
        tokenize_records(loaded.tokenizer, evals, max_len),
        data_hash,
    )


def run_sweep(
    suite: SuiteConfig,
    out: Path,
    *,
    loaded: LoadedModel | None = None,
    executor: str = "local",
    on_trial: Callable[[TrialResult], None] | None = None,
) -> SweepResult:
    """Run (or resume) every trial; return the sweep with every finished trial."""
    if executor == "ray":
        from harness.train.ray_executor import run_sweep_ray

        return run_sweep_ray(suite, out)
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    base_loads = 0
    if loaded is None:
        loaded = load_suite_base(suite)
        base_loads = 1
    data = prepare_data(suite, loaded)
    specs = suite.sweep.expand()
    results: list[TrialResult] = []
    skipped: list[str] = []
    with frozen_heap():
        for i, spec in enumerate(specs, start=1):
            console.print(f"trial {i}/{len(specs)} [bold]{spec.label()}[/bold]")
            result, reused = run_or_reuse(suite, loaded, data, spec, out)
            results.append(result)
            if reused:
                skipped.append(spec.label())
                continue
            if on_trial:
                on_trial(result)
            write_sweep(out, results, base_loads, start, skipped, executor)
    return write_sweep(out, results, base_loads, start, skipped, executor)


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the garbage collector off the long-lived heap (libraries, the base model) during trials.

    Every ``Trainer.train`` calls ``gc.collect()`` (through accelerate's
    ``free_memory``), which walks every object in the process: about 0.4 s a
    trial here, pure overhead. Frozen objects are skipped; what a trial creates
    is still collected. The training stack is imported first so it is frozen too.
    """
    import_training_stack()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def run_or_reuse(
    suite: SuiteConfig, loaded: LoadedModel, data: TrialData, spec: TrialSpec, out: Path
) -> tuple[TrialResult, bool]:
    """Train one trial, or return its earlier result when its hash says nothing changed."""
    folder = trial_dir(out, spec)
    key = trial_hash(spec, suite.sweep, data.data_hash, loaded.base_hash)
    done = _finished(folder, key)
    if done is not None:
        console.print(f"[dim]  {spec.label()}: finished earlier, reused[/dim]")
        return done, True
    _claim(folder, key)
    result = train_trial(loaded, spec, suite.sweep, data, folder, config_hash=key)
    write_json(result, folder / "trial.json")
    last = result.train_loss[-1].loss if result.train_loss else float("nan")
    console.print(
        f"  {spec.label()}: {spec.max_steps} steps in {result.wall_s:.1f}s, final train loss {last:.4f}"
    )
    return result, False


def write_sweep(
    out: Path, trials: list[TrialResult], loads: int, start: float, skipped: list[str], executor: str
) -> SweepResult:
    sweep = SweepResult(
        trials=trials,
        base_loads=loads,
        wall_s=time.perf_counter() - start,
        skipped=skipped,
        executor=executor,
    )
    write_json(sweep, out / "sweep.json")
    return sweep


def _finished(folder: Path, key: str) -> TrialResult | None:
    path = folder / "trial.json"
    if not path.is_file():
        return None
    try:
        result = TrialResult.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError:
        return None  # an unreadable record is not a finished trial: train again
    if result.config_hash != key or not Path(result.adapter_path).is_dir():
        return None
    return result


def _claim(folder: Path, key: str) -> None:
    """Mark the folder with the trial's hash; checkpoints of another config are not resumed."""
    marker = folder / "trial.hash"
    if marker.is_file() and marker.read_text(encoding="utf-8").strip() != key:
        import shutil

        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(marker, key)
