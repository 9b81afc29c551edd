"""Synthetic-data review: a judge reads a random sample of training rows and names the wrong ones.

Rows scored below the rubric's ``pass_score`` are ``error`` findings; rows whose
verdict could not be parsed or obtained are ``warning`` findings (not reviewed
is not the same as fine); one ``info`` finding says what was reviewed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from harness.data.record import SYSTEM, Record
from harness.errors import ConfigError, JudgeError
from harness.judge.config import JudgeConfig
from harness.judge.items import JudgeItem
from harness.judge.results import ItemVerdict, JudgeRun
from harness.judge.rubrics import load_rubric
from harness.judge.run import run_judges
from harness.results import Finding, Ref

CHECK = "judge_review"
OUTPUT = "train"


def review_dataset(records: Sequence[Record], config: JudgeConfig, *, fraction: float = 0.1,
                   seed: int = 0, cache_path: Path, rubric_dirs: Sequence[Path] = (),
                   progress: bool = True) -> list[Finding]:
    """Judge a random ``fraction`` of ``records`` with ``config``'s review rubric; findings per bad row."""
    if not 0 < fraction <= 1:
        raise ConfigError(f"review fraction must be in (0, 1], got {fraction}", key="fraction")
    rubric = load_rubric(config.rubric, rubric_dirs)
    if rubric.protocol != "pointwise" or rubric.pass_score is None:
        raise ConfigError(f"rubric {rubric.name!r} cannot review data: it needs protocol pointwise and "
                          "a pass_score", key="rubric", hint="use the shipped 'review' rubric")
    chosen = sample_records(records, fraction, seed)
    if not chosen:
        return []
    by_id = {_item_id(r): r for r in chosen}
    items = [JudgeItem(item_id=_item_id(r), prompt=conversation(r), outputs={OUTPUT: r.response},
                       split="train") for r in chosen]
    judge = config.model_copy(update={"protocol": "pointwise", "sample": None, "splits": ("train",)})
    run = run_judges([judge], items, cache_path=cache_path, rubric_dirs=rubric_dirs,
                     progress=progress).runs[0]
    if run.error:  # nothing reviewed is not "nothing wrong": the audit stops, saying why
        raise JudgeError(f"judge {run.name!r}: {run.error}")
    findings = [f for v in run.verdicts if (f := _finding(v, by_id[v.item_id], run, rubric.pass_score))]
    return [*findings, _summary(run, len(records), len(chosen), fraction, seed, findings)]


def sample_records(records: Sequence[Record], fraction: float, seed: int) -> list[Record]:
    """A seeded random sample, at least one row, in file order."""
    if not records:
        return []
    k = min(len(records), max(1, round(fraction * len(records))))
    picks = np.random.default_rng(seed).choice(len(records), size=k, replace=False)
    return [records[i] for i in sorted(picks.tolist())]


def conversation(record: Record) -> str:
    """The request side as the judge sees it: the text alone for one user turn, else labelled turns."""
    turns = record.prompt_turns
    if len(turns) == 1 and turns[0].role != SYSTEM:
        return turns[0].content
    return "\n\n".join(f"[{t.role}]\n{t.content}" for t in turns)


def _item_id(record: Record) -> str:
    return f"{record.source}#{record.index}"


def _finding(v: ItemVerdict, record: Record, run: JudgeRun, pass_score: float) -> Finding | None:
    ref = Ref(split="train", index=record.index, file=record.source)
    details = {"judge": run.name, "model": run.model, "rubric": run.rubric,
               "rubric_version": run.rubric_version, "verdict": v.raw}
    if v.status == "ok" and v.score is not None:
        if v.score >= pass_score:
            return None
        return Finding(check=CHECK, severity="error", refs=[ref], details={**details, "score": v.score},
                       message=f"train row {record.index}: judged wrong (score {v.score:g} < {pass_score:g})"
                               f"{_why(v.raw)}")
    what = "verdict unparseable" if v.status == "unparseable" else "not judged"
    return Finding(check=CHECK, severity="warning", refs=[ref], details={**details, "reason": v.reason},
                   message=f"train row {record.index}: {what} ({v.reason}); review it by hand")


def _why(raw: str) -> str:
    """The judge's first line of explanation, as a hint in the message."""
    first = next((line.strip() for line in raw.splitlines() if line.strip()), "")
    return f": {first[:160]}" if first and "[[" not in first else ""


def _summary(run: JudgeRun, total: int, reviewed: int, fraction: float, seed: int,
             findings: list[Finding]) -> Finding:
    wrong = sum(f.severity == "error" for f in findings)
    return Finding(check=CHECK, severity="info",
                   message=f"judge {run.name!r} reviewed {reviewed} of {total} training rows "
                           f"({fraction:.0%} sample, seed {seed}): {wrong} judged wrong, "
                           f"{run.unparseable} unparseable, {run.failed} not judged",
                   details={"judge": run.name, "model": run.model, "rubric": run.rubric,
                            "reviewed": reviewed, "total": total, "wrong": wrong,
                            "unparseable": run.unparseable, "failed": run.failed, "requests": run.requests,
                            "cache_hits": run.cache_hits, "cost_usd": run.cost_usd})
