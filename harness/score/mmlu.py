"""MMLU accuracy through lm-eval itself, on MMLU in the original CSV layout from a local folder.

The folder holds ``test/<subject>_test.csv`` (and ``dev/<subject>_dev.csv`` for
few-shot), no header, rows ``question,A,B,C,D,answer-letter`` (the layout of
Hendrycks' ``data.tar``). Rows are read with Python's ``csv`` module (no type
guessing: a choice "1.50" stays "1.50") into the fields of ``cais/mmlu``
(``question``, ``subject``, ``choices``, ``answer`` 0-3).

Scoring is lm-eval's, untouched: each subject is an lm-eval ``ConfigurableTask``
whose config is lm-eval's own ``tasks/mmlu/default/_default_template_yaml`` (the
MMLU prompt ``question / A. .. / Answer:``, choices " A".." D", metric ``acc``)
plus the per-subject description lm-eval generates ("The following are multiple
choice questions (with answers) about <subject>."), with the dataset served from
memory instead of the hub. ``lm_eval.simple_evaluate`` runs it with an ``HFLM``
wrapped around *our* loaded model (4-bit, PEFT adapters and all), zero-shot by
default. ``samples=`` asks lm-eval for exactly the items not in our cache.

Per-subject ``limit`` keeps the first N test rows of each subject. ``mmlu`` is
the *micro* average over all scored items (lm-eval's ``weight_by_size`` for the
MMLU group), reported in percent points; ``mmlu/<subject>`` per subject.
"""

from __future__ import annotations

import contextlib
import csv
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from harness.errors import DataError
from harness.io import sha256_text
from harness.progress import debugging, status, stderr_muted
from harness.userfiles import check_file

LETTERS = "ABCD"
PROMPT_VERSION = "1"
FEWSHOT_SEED = 1234  # simple_evaluate's default fewshot_random_seed


@dataclass(frozen=True)
class MMLUItem:
    """One test question of one subject (``index``: its 0-based row in the test CSV)."""

    subject: str
    index: int
    question: str
    choices: tuple[str, ...]
    answer: int

    @property
    def item_id(self) -> str:
        return f"mmlu/{self.subject}/{self.index}"

    @property
    def content_hash(self) -> str:
        return sha256_text(self.subject, self.question, *self.choices, str(self.answer))

    def doc(self) -> dict[str, Any]:
        return {"question": self.question, "subject": self.subject, "choices": list(self.choices),
                "answer": self.answer}


@dataclass(frozen=True)
class MMLUOutcome:
    """lm-eval's verdict on one item: correct or not, and the chosen letter (0-3)."""

    acc: float
    pred: int


def list_subjects(root: Path) -> list[str]:
    test = Path(root) / "test"
    if not test.is_dir():
        raise DataError("no test/ folder (expected MMLU's original layout: test/<subject>_test.csv)",
                        path=root)
    subjects = sorted(p.name.removesuffix("_test.csv") for p in test.glob("*_test.csv"))
    if not subjects:
        raise DataError("no <subject>_test.csv files in test/", path=test)
    return subjects


def read_rows(path: Path, subject: str) -> list[MMLUItem]:
    """Every row of one subject CSV, checked: six fields, answer A-D."""
    items: list[MMLUItem] = []
    check_file(path, "MMLU file", kind="benchmark")  # a FIFO would hang the reader
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            for index, row in enumerate(csv.reader(fh)):
                if len(row) != 6:
                    raise DataError(f"expected 6 fields (question,A,B,C,D,answer), got {len(row)}",
                                    path=path, line=index + 1)
                letter = row[5].strip().upper()
                if len(letter) != 1 or letter not in LETTERS:
                    raise DataError(f"answer must be one of A-D, got {row[5]!r}", path=path,
                                    line=index + 1, field="answer")
                items.append(MMLUItem(subject, index, row[0], tuple(row[1:5]), LETTERS.index(letter)))
    except UnicodeDecodeError:
        raise DataError("not valid UTF-8", path=path) from None
    except csv.Error as exc:
        raise DataError(f"not valid CSV: {exc}", path=path) from None
    return items


def load_items(root: Path, subjects: Sequence[str] = (), limit: int | None = None) -> list[MMLUItem]:
    """Test items of ``subjects`` (all in the folder when empty), first ``limit`` of each."""
    known = list_subjects(root)
    chosen = list(subjects) or known
    unknown = [s for s in chosen if s not in known]
    if unknown:
        raise DataError(f"no test file for subject(s) {', '.join(unknown)}", path=Path(root) / "test",
                        hint=f"known: {', '.join(known[:8])}{'...' if len(known) > 8 else ''}")
    items: list[MMLUItem] = []
    for subject in chosen:
        rows = read_rows(Path(root) / "test" / f"{subject}_test.csv", subject)
        items.extend(rows[:limit] if limit is not None else rows)
    return items


@cache
def lm_eval_template() -> tuple[tuple[str, Any], ...]:
    """lm-eval's own MMLU task template (prompt, choices, metric), read from its package."""
    import lm_eval.tasks

    path = Path(lm_eval.tasks.__file__).parent / "mmlu" / "default" / "_default_template_yaml"
    cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    return tuple(sorted(cfg.items()))


def description(subject: str) -> str:
    # As lm-eval's tasks/mmlu/_generate_configs.py writes it for every subject.
    topic = " ".join(subject.split("_"))
    return f"The following are multiple choice questions (with answers) about {topic}.\n\n"


def prompt_hash(num_fewshot: int) -> str:
    """What the prompts depend on besides the item: lm-eval's template and version, shots."""
    import lm_eval

    version = getattr(lm_eval, "__version__", "unknown")
    return sha256_text(PROMPT_VERSION, repr(lm_eval_template()), str(version), str(num_fewshot))


def task_name(subject: str) -> str:
    return f"harness_mmlu_{subject}"


def build_task(root: Path, subject: str) -> Any:
    """An lm-eval task for one subject: lm-eval's MMLU config, this folder's rows, from memory."""
    import datasets
    from lm_eval.api.task import ConfigurableTask

    test = [item.doc() for item in read_rows(Path(root) / "test" / f"{subject}_test.csv", subject)]
    dev_path = Path(root) / "dev" / f"{subject}_dev.csv"
    dev = [item.doc() for item in read_rows(dev_path, subject)] if dev_path.is_file() else test[:0]

    def dataset(**_: Any) -> Any:
        splits = {"test": datasets.Dataset.from_list(test)}
        if dev:
            splits["dev"] = datasets.Dataset.from_list(dev)
        return datasets.DatasetDict(splits)

    cfg = dict(lm_eval_template())
    cfg.pop("dataset_path", None)
    if not dev:
        cfg.pop("fewshot_split", None)
    cfg.update(task=task_name(subject), task_alias=subject, description=description(subject),
               custom_dataset=dataset)
    return ConfigurableTask(config=cfg)


@contextlib.contextmanager
def _quiet(progress: bool, questions: int) -> Iterator[None]:
    """lm-eval logs a warning per custom task and draws raw tqdm bars (per subject, per request batch)
    with no switch to turn them off: keep only its errors, mute what it writes to stderr, and show one
    status line instead when ``progress``. ``--debug`` shows lm-eval's own output."""
    logger = logging.getLogger("lm_eval")
    level = logger.level
    if not debugging():
        logger.setLevel(logging.ERROR)
    try:
        with status(f"MMLU: {questions} questions through lm-eval", progress), stderr_muted():
            yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def _no_retie(model: Any) -> Iterator[None]:
    """Skip the ``tie_weights()`` HFLM calls on a model it is handed.

    Our model is loaded and already tied. Re-tying a PEFT model whose embedding rows are
    trainable tokens (``trainable_token_indices``: the embedding is wrapped) fails in
    transformers 5 ("model.embed_tokens.weight is neither a parameter...") and could
    re-point the head at the wrapper. A no-op on the instance, removed afterwards.
    """
    model.tie_weights = lambda *args, **kwargs: None
    try:
        yield
    finally:
        del model.tie_weights


def run_mmlu(model: Any, tokenizer: Any, root: Path, wanted: Mapping[str, Sequence[int]], *,
             batch_size: int = 16, num_fewshot: int = 0,
             progress: bool = False) -> dict[tuple[str, int], MMLUOutcome]:
    """Score the ``wanted`` test rows (subject -> row indices) with lm-eval; ``(subject, row)`` -> outcome.

    This is ``lm_eval.simple_evaluate`` minus its reporting: the same task setup (``num_fewshot``,
    few-shot seed 1234), then ``lm_eval.evaluator.evaluate``, lm-eval's own request building,
    loglikelihood scoring and ``acc``. What is skipped is what simple_evaluate adds *after*
    scoring: ``git describe`` and torch's ``collect_env`` (subprocesses, about a second per call,
    paid once per model here). The parity test checks the result against simple_evaluate.
    """
    from lm_eval.evaluator import evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    wanted = {s: sorted(set(rows)) for s, rows in wanted.items() if rows}
    if not wanted:
        return {}
    with _quiet(progress, sum(len(rows) for rows in wanted.values())):
        loaded = TaskManager(include_defaults=False).load([build_task(root, s) for s in wanted])
        for task in loaded["tasks"].values():
            task.set_config(key="num_fewshot", value=num_fewshot)
            task.set_fewshot_seed(seed=FEWSHOT_SEED)
        with _no_retie(model):
            lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size)
        result = evaluate(lm=lm, task_dict=loaded, samples={task_name(s): rows for s, rows in wanted.items()},
                          log_samples=True, bootstrap_iters=0)
    if result is None:  # only on non-zero ranks of a distributed run
        return {}
    return outcomes(result["samples"], list(wanted))


def outcomes(samples: Mapping[str, Sequence[Mapping[str, Any]]],
             subjects: Sequence[str]) -> dict[tuple[str, int], MMLUOutcome]:
    """Per-item acc and predicted letter from lm-eval's logged samples."""
    out: dict[tuple[str, int], MMLUOutcome] = {}
    for subject in subjects:
        for sample in samples.get(task_name(subject), []):
            lls = [float(r[0]) for r in sample["filtered_resps"]]
            pred = max(range(len(lls)), key=lls.__getitem__)
            out[(subject, int(sample["doc_id"]))] = MMLUOutcome(float(sample["acc"]), pred)
    return out


__all__ = ["MMLUItem", "MMLUOutcome", "build_task", "description", "list_subjects", "lm_eval_template",
           "load_items", "outcomes", "prompt_hash", "read_rows", "run_mmlu", "task_name"]
