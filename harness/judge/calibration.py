"""How far to trust a judge: Cohen's kappa against labelled anchors, and between judges.

Kappa is agreement corrected for chance: 1 is perfect, 0 is what two raters
guessing from their own label frequencies would reach. It is undefined (None)
when both raters use a single, identical label for everything.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from itertools import combinations

import numpy as np

from harness.judge.items import Anchor
from harness.judge.results import Calibration, ItemVerdict, JudgeRun
from harness.judge.rubrics import Rubric


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable], *, quadratic: bool = False) -> float | None:
    """Cohen's kappa of two raters over the same items (quadratic-weighted for ordinal labels)."""
    if len(a) != len(b):
        raise ValueError("the two raters must rate the same items")
    if not a:
        return None
    labels = sorted(set(a) | set(b), key=lambda x: (str(type(x)), x))
    index = {label: i for i, label in enumerate(labels)}
    k = len(labels)
    observed = np.zeros((k, k))
    np.add.at(observed, ([index[x] for x in a], [index[y] for y in b]), 1)
    observed /= observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    if quadratic:
        grid = np.arange(k)
        weights = (grid[:, None] - grid[None, :]) ** 2 / max(1, (k - 1) ** 2)
    else:
        weights = 1.0 - np.eye(k)
    disagreement_expected = float((weights * expected).sum())
    if disagreement_expected == 0:
        return None
    return 1.0 - float((weights * observed).sum()) / disagreement_expected


def anchor_label(anchor: Anchor, rubric: Rubric) -> float | str:
    """An anchor's label in verdict terms: a score (label names map through the rubric) or a winner."""
    if rubric.protocol == "pairwise" or isinstance(anchor.label, float | int):
        return anchor.label if isinstance(anchor.label, str) else float(anchor.label)
    named = {k.lower(): v for k, v in (rubric.labels or {}).items()}
    if anchor.label.lower() in named:
        return named[anchor.label.lower()]
    try:
        return float(anchor.label)
    except ValueError:
        raise ValueError(f"anchor label {anchor.label!r} is not one of the rubric's labels") from None


def calibrate(path: str, anchors: Sequence[Anchor], judged: Sequence[ItemVerdict],
              rubric: Rubric) -> Calibration:
    """Agreement of the anchor verdicts with the anchors' labels (verdicts in anchor order)."""
    truth: list[Hashable] = []
    said: list[Hashable] = []
    for anchor, verdict in zip(anchors, judged, strict=True):
        if verdict.status != "ok":
            continue
        truth.append(anchor_label(anchor, rubric))
        said.append(verdict.winner if rubric.protocol == "pairwise" else verdict.score)
    ordinal = rubric.protocol == "pointwise"
    return Calibration(
        path=path, n=len(truth), kappa=cohen_kappa(truth, said),
        kappa_quadratic=cohen_kappa(truth, said, quadratic=True) if ordinal else None,
        accuracy=float(np.mean([t == s for t, s in zip(truth, said, strict=True)])) if truth else None,
        unparseable=sum(v.status == "unparseable" for v in judged),
        failed=sum(v.status == "error" for v in judged))


def judge_agreement(runs: Sequence[JudgeRun]) -> dict[str, float]:
    """Cohen's kappa for every pair of judges with the same protocol, on verdicts both parsed."""
    out: dict[str, float] = {}
    for first, second in combinations(runs, 2):
        if first.protocol != second.protocol:
            continue
        mine = _labels(first)
        theirs = _labels(second)
        shared = sorted(mine.keys() & theirs.keys())
        kappa = cohen_kappa([mine[k] for k in shared], [theirs[k] for k in shared])
        if kappa is not None:
            out[f"{first.name} vs {second.name}"] = kappa
    return out


def _labels(run: JudgeRun) -> dict[tuple[str, str], Hashable]:
    return {(v.item_id, v.model): (v.winner if run.protocol == "pairwise" else v.score)
            for v in run.verdicts if v.status == "ok"}
