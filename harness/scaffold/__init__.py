"""``harness init``: a commented, runnable suite for one's own base model and data.

:func:`init_suite` reads the train file (format, size, task shape), the base
model (chat template or none, lengths, size, tokens it never learned), holds
out an eval split when no eval file is given (near duplicates kept on one
side, checked with the audit's leakage check), writes a forgetting canary
when there is no general text (texts the base writes itself), and writes the
suite with gates: better than the base with confidence, the canary, no
leakage. It never overwrites: every file it would write must not exist yet.
Every path in the suite is relative to the suite file.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.data import load_records
from harness.data.loaders import raw_rows
from harness.data.record import Record
from harness.errors import ConfigError
from harness.io import atomic_write_text
from harness.scaffold.profile import DataProfile, profile
from harness.scaffold.writer import SuitePlan, SweepPlan, suite_text

GENERAL_TEXTS = 48
CPU_TOKENS = 120 * 8 * 128  # a CPU sweep trains on at most this many tokens (the demo's size)
FORGET_SHARE = 0.25  # the canary allows the general perplexity to rise by this share of the base's
SPLIT_SEED = 0
PRIMARY = {"json": "json_valid", "labels": "exact_match", "free_text": "eval_perplexity"}
METRICS = {"json": ["exact_match", "json", "perplexity"], "labels": ["exact_match", "perplexity"],
           "free_text": ["perplexity"]}


@dataclass(frozen=True)
class InitResult:
    suite: Path
    written: list[Path]  # every file written, the suite last
    plan: SuitePlan


def _rel(target: Path, folder: Path) -> str:
    return Path(os.path.relpath(target.resolve(), folder.resolve())).as_posix()


GENERIC = {"suite", "harness", "train", "data", "dataset", "training"}


def _name(out: Path, train: Path) -> str:
    """The suite's name (its reports go to reports/<name>/): the first telling one of the suite file's
    name, the train file's, and the train file's folder."""
    candidates = [out.stem, train.stem, train.resolve().parent.name]
    stem = next((c for c in candidates if c.lower() not in GENERIC), "suite")
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-") or "suite"


def _targets(out: Path, need_split: bool, need_general: bool) -> dict[str, Path]:
    """Every file init will write; refused (exit 2) when one exists."""
    files = {"suite": out}
    if need_split:
        files |= {side: out.with_name(f"{out.stem}-{side}.jsonl") for side in ("train", "eval")}
    if need_general:
        files["general"] = out.with_name(f"{out.stem}-general.jsonl")
    for path in files.values():
        if path.exists():
            raise ConfigError("exists; harness init never overwrites (choose another --out, or move it)",
                              path=path)
    return files


def _rows_text(source: Path, positions: Sequence[int]) -> str:
    """The rows at ``positions`` of ``source``, as they are there, one JSON object per line."""
    keep = set(positions)
    rows = [row for i, (_, row) in enumerate(raw_rows(source)) if i in keep]
    return "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows)


def plan_sweep(n_params: int, gpu: bool, rows: int, modules: list[str] | str,
               seq_len: int = 128) -> SweepPlan:
    """A sweep sized for the machine: one trial on CPU (two on a GPU), about two epochs, capped by a
    step count and, on CPU, by a token budget (``seq_len`` tokens per example at most)."""
    lr = 1e-2 if n_params < 20e6 else 2e-3 if n_params < 500e6 else 2e-4
    small = n_params < 100e6
    batch = 16 if gpu else 8 if small else 2
    cap = 400 if gpu else min(120 if small else 20, CPU_TOKENS // (batch * seq_len))
    steps = max(20, min(cap, math.ceil(2 * rows / batch)))
    ranks = [8, 16] if gpu else [8]
    trials = [{"name": f"r{r}-attn", "r": r, "lora_alpha": 2 * r, "target_modules": modules} for r in ranks]
    where = "a GPU" if gpu else "CPU only"
    note = (f"Sized for this machine ({where}, a {n_params / 1e6:.3g}M-parameter base): "
            f"{len(trials)} trial{'s' if len(trials) > 1 else ''} of {steps} steps "
            f"(about {steps * batch / max(1, rows):.1f} epochs, capped at {cap}).\n"
            "Adapters on the attention projections keep general text best; add trials to explore\n"
            "(a `grid:` of r, lora_alpha, learning_rate, target_modules).")
    defaults = {"max_steps": steps, "batch_size": batch, "learning_rate": lr, "warmup_ratio": 0.05, "seed": 0}
    return SweepPlan(trials=trials, defaults=defaults, eval_every=max(5, steps // 4), note=note)


def init_suite(*, model: str, train: Path, out: Path, eval: Path | None = None, general: Path | None = None,
               say: Callable[[str], None] = print) -> InitResult:
    """Write a suite for ``model`` and ``train`` to ``out`` (see the module docstring)."""
    out = Path(out)
    files = _targets(out, eval is None, general is None)
    records = load_records(train)
    if eval is not None:
        load_records(eval)  # a broken eval file fails now, naming its line
    if general is not None:
        load_records(general)
    data = profile(records)
    say(f"data: {data.describe()}")
    folder = out.parent
    folder.mkdir(parents=True, exist_ok=True)
    return _build(model, train, out, eval, general, records, data, files, say)


@dataclass(frozen=True)
class _Side:
    """One data decision: the suite's path(s), the comment saying why, the files to write (path, text)."""

    paths: tuple[str, ...]
    note: str
    files: tuple[tuple[Path, str], ...] = ()


def _eval_side(train: Path, eval: Path | None, records: list[Record], files: dict[str, Path],
               say: Callable[[str], None]) -> _Side:
    folder = files["suite"].parent
    if eval is not None:
        return _Side((_rel(train, folder), _rel(eval, folder)), f"The eval set is {eval.name}, as given.")
    from harness.scaffold.split import held_out_split

    split = held_out_split(records, seed=SPLIT_SEED)
    say(f"split: held out {len(split.eval)} of {len(records)} rows -> {files['eval']} "
        f"(train: {len(split.train)} rows -> {files['train']}); leakage check: 0 rows")
    note = (f"No eval file was given: {len(split.eval)} rows of {train.name} are held out "
            f"(seed {split.seed}),\n{split.clusters} duplicate clusters kept on one side, "
            f"{split.moved_back} rows the leakage check flagged moved back to train:\n"
            "the audit's leakage check passes on this split.")
    writes = tuple((files[side], _rows_text(train, getattr(split, side))) for side in ("train", "eval"))
    return _Side((_rel(files["train"], folder), _rel(files["eval"], folder)), note, writes)


def _general_side(general: Path | None, texts: Sequence[str], files: dict[str, Path],
                  say: Callable[[str], None]) -> _Side:
    folder = files["suite"].parent
    if general is not None:
        return _Side((_rel(general, folder),),
                     "Forgetting canary: general text the base should keep modelling, as given.")
    say(f"general: {len(texts)} texts sampled from the base -> {files['general']}")
    note = (f"Forgetting canary: {len(texts)} texts this base wrote itself from BOS (sampled, seed 0),\n"
            "so text it already models; a fine-tune that forgets raises its perplexity here.\n"
            "Replace with text from the base's own domain if you have some.")
    lines = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts)
    return _Side((_rel(files["general"], folder),), note, ((files["general"], lines),))


def _build(model: str, train: Path, out: Path, eval: Path | None, general: Path | None,
           records: list[Record], data: DataProfile, files: dict[str, Path],
           say: Callable[[str], None]) -> InitResult:
    """Decide everything, then write every file (so a failure leaves nothing behind)."""
    from harness.scaffold.base import inspect_base

    base = inspect_base(model, records, general=general, sample=GENERAL_TEXTS, say=say)
    evals = _eval_side(train, eval, records, files, say)
    canary = _general_side(general, base.general_texts, files, say)
    plan = SuitePlan(
        name=_name(out, train), model=base.suite_path(out.parent), template_note=base.template_note,
        load_in_4bit=base.load_in_4bit, train=evals.paths[0], eval=evals.paths[1], general=canary.paths[0],
        data_note=evals.note, general_note=canary.note, profile=data, lengths=base.lengths,
        metrics=METRICS[data.shape], primary=PRIMARY[data.shape], primary_higher=_higher(PRIMARY[data.shape]),
        sweep=plan_sweep(base.parameters, base.gpu, len(records), base.modules, base.lengths.max_seq_len),
        canary=round(max(0.01, FORGET_SHARE * base.general_perplexity), 2),
        canary_note=f"Forgetting canary: the base's perplexity on it is {base.general_perplexity:.3g}; allow "
                    f"a rise of {int(100 * FORGET_SHARE)}%.",
        untrained=base.untrained, judge_backends=_backends())
    pending = [*evals.files, *canary.files, (out, suite_text(plan))]
    for path, text in pending:
        atomic_write_text(path, text)
    say(f"suite: {out} (metrics {', '.join(plan.metrics)}; primary {plan.primary}); run it with: "
        f"harness run {out}")
    return InitResult(suite=out, written=[p for p, _ in pending], plan=plan)


def _higher(metric: str) -> bool:
    from harness.score.metrics import metric_registry

    return metric_registry().higher_is_better(metric)


def _backends() -> list[str]:
    from harness.judge.backends.registry import known_backends

    return known_backends()


__all__ = ["InitResult", "init_suite", "plan_sweep"]
