"""The trial core every executor runs: tokenized sweep data, trial folders, and train-or-reuse.

A finished trial leaves ``trials/<folder>/trial.json`` (``<folder>``: the trial's
name made safe, :func:`harness.paths.folder_name`); its identity is a hash of
the trial config, the sweep settings, the data and the base, so a rerun reuses
it, and a changed config or dataset retrains. A partial trial resumes from its
last checkpoint; checkpoints of another config are removed, never resumed, and
only from a folder inside ``trials/`` that carries the trial's marker file.
Adapter paths are recorded relative to the run folder, so a moved or copied run
folder finds its own adapters from any directory.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.config import SuiteConfig, TrialSpec
from harness.data import load_records
from harness.errors import DataError
from harness.io import atomic_write_text, sha256_text
from harness.models.loading import LoadedModel
from harness.paths import folder_name, remove_owned
from harness.results import TrialResult, write_json
from harness.train.run import TrialData, import_training_stack, train_trial, trial_hash
from harness.train.tokenize import tokenize_records

TrialDone = Callable[[TrialResult, bool], None]  # (result, reused): once per trial, as it finishes


MARKER = "trial.hash"  # written first into a trial's folder: the folder is the harness's to remove


def trial_dir(out: Path, spec: TrialSpec) -> Path:
    return out / "trials" / folder_name(spec.label())


def prepare_data(suite: SuiteConfig, loaded: LoadedModel) -> TrialData:
    """Tokenize train and eval once for the whole sweep."""
    train = load_records(suite.resolve(suite.data.train), suite.data.format)
    evals = load_records(suite.resolve(suite.data.eval), suite.data.format)
    max_len = suite.sweep.max_seq_len
    data_hash = sha256_text(
        *(r.content_hash for r in train), "||", *(r.content_hash for r in evals), loaded.template
    )
    tokenized = tokenize_records(loaded.tokenizer, train, max_len)
    if not tokenized.input_ids:  # the trainer would fail on an empty dataset with a bare StopIteration
        first = train[0]
        raise DataError(f"no row can be trained on: all {len(train)} rows were skipped (line {first.line}: "
                        f"{tokenized.skipped.get(first.index, 'skipped')})",
                        path=suite.resolve(suite.data.train), hint="see the audit's template checks")
    return TrialData(tokenized, tokenize_records(loaded.tokenizer, evals, max_len), data_hash)


def run_or_reuse(
    suite: SuiteConfig, loaded: LoadedModel, data: TrialData, spec: TrialSpec, out: Path
) -> tuple[TrialResult, bool]:
    """Train one trial, or return its earlier result when its hash says nothing changed; True: reused."""
    folder = trial_dir(out, spec)
    key = trial_hash(spec, suite.sweep, data.data_hash, loaded.base_hash)
    done = _finished(folder, key, out)
    if done is not None:
        return done, True
    _claim(folder, key, out / "trials")
    trained = train_trial(loaded, spec, suite.sweep, data, folder, config_hash=key)
    adapter = Path(trained.adapter_path)
    stored = adapter.relative_to(out) if adapter.is_relative_to(out) else adapter
    result = trained.model_copy(update={"adapter_path": stored.as_posix()})
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


def _finished(folder: Path, key: str, out: Path) -> TrialResult | None:
    path = folder / "trial.json"
    if not path.is_file():
        return None
    try:
        result = TrialResult.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError:
        return None  # an unreadable record is not a finished trial: train again
    if result.config_hash != key or not result.adapter_dir(out).is_dir():
        return None
    return result


def _claim(folder: Path, key: str, trials: Path) -> None:
    """Mark the folder with the trial's hash; a folder of another config is removed (only a trial folder
    the harness made, inside ``trials``), never resumed."""
    marker = folder / MARKER
    if marker.is_file() and marker.read_text(encoding="utf-8").strip() != key:
        remove_owned(folder, root=trials, marker=MARKER)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(marker, key)
