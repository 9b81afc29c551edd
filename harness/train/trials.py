"""The trial core every executor runs: tokenized sweep data, trial folders, and train-or-reuse.

A finished trial leaves ``trials/<name>/trial.json``; its identity is a hash of
the trial config, the sweep settings, the data and the base, so a rerun reuses
it, and a changed config or dataset retrains. A partial trial resumes from its
last checkpoint; checkpoints of another config are removed, never resumed.
"""

from __future__ import annotations

import gc
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.config import SuiteConfig, TrialSpec
from harness.data import load_records
from harness.io import atomic_write_text, sha256_text
from harness.models.loading import LoadedModel
from harness.results import TrialResult, write_json
from harness.train.run import TrialData, import_training_stack, train_trial, trial_hash
from harness.train.tokenize import tokenize_records

TrialDone = Callable[[TrialResult, bool], None]  # (result, reused): once per trial, as it finishes


def trial_dir(out: Path, spec: TrialSpec) -> Path:
    return out / "trials" / re.sub(r"[^A-Za-z0-9_.+-]", "_", spec.label())


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


def run_or_reuse(
    suite: SuiteConfig, loaded: LoadedModel, data: TrialData, spec: TrialSpec, out: Path
) -> tuple[TrialResult, bool]:
    """Train one trial, or return its earlier result when its hash says nothing changed; True: reused."""
    folder = trial_dir(out, spec)
    key = trial_hash(spec, suite.sweep, data.data_hash, loaded.base_hash)
    done = _finished(folder, key)
    if done is not None:
        return done, True
    _claim(folder, key)
    result = train_trial(loaded, spec, suite.sweep, data, folder, config_hash=key)
    write_json(result, folder / "trial.json")
    return result, False


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
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(marker, key)
