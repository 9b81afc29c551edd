"""Typed judge results: what goes into ``results.json`` under ``"judges"``.

An unparseable verdict is ``status="unparseable"`` with no score, never a
score; a judgement that failed for good after its retries is ``status="error"``
with the (redacted) reason, and is never cached.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.frozen import Frozen as _Frozen
from harness.judge.config import Protocol

Status = Literal["ok", "unparseable", "error"]
Winner = Literal["base", "candidate", "tie"]

RAW_LIMIT = 600  # characters of the judge's own text kept per verdict


class ItemVerdict(_Frozen):
    """One judgement: a model's output on an item (pointwise), or base vs a candidate (pairwise)."""

    item_id: str
    model: str  # the judged model (pointwise) or the candidate compared with "base" (pairwise)
    status: Status
    score: float | None = None
    winner: Winner | None = None
    # Pairwise: the verdict of each order, in base/candidate terms ("ab": base shown first).
    orders: dict[str, Winner | None] = Field(default_factory=dict)
    consistent: bool | None = None
    raw: str = ""
    reason: str = ""  # why unparseable or failed
    cached: bool = False


class ModelScore(_Frozen):
    """Pointwise: one model's scores over the judged items (unparseable and failed ones excluded)."""

    mean: float | None
    std: float | None
    n: int
    unparseable: int = 0
    failed: int = 0
    # 95% percentile bootstrap interval of the mean over items (None below two scores)
    ci_low: float | None = None
    ci_high: float | None = None


class PairwiseStats(_Frozen):
    """Pairwise: a candidate against "base" with both orders; a win only when both orders agree."""

    wins: int
    ties: int
    losses: int
    n: int  # pairs with both orders parsed
    win_rate: float | None  # wins / n
    win_rate_adjusted: float | None  # (wins + ties / 2) / n
    position_consistency: float | None  # share of pairs where both orders gave the same outcome
    unparseable: int = 0
    failed: int = 0
    # 95% Wilson score interval of win_rate (None with no pair parsed)
    win_rate_ci_low: float | None = None
    win_rate_ci_high: float | None = None


class Calibration(_Frozen):
    """Agreement of the judge with a labelled anchor set."""

    path: str
    n: int  # anchors with a parsed verdict
    kappa: float | None  # Cohen's kappa (unweighted)
    kappa_quadratic: float | None = None  # quadratic-weighted kappa for ordinal scores
    accuracy: float | None = None  # raw agreement
    unparseable: int = 0
    failed: int = 0


class JudgeRun(_Frozen):
    """One judge over the items: aggregate scores, cost and reliability counters, every verdict."""

    name: str
    backend: str  # the config's name for it, or module:Class of an object passed to run_judges
    model: str
    rubric: str
    rubric_version: int
    rubric_hash: str
    protocol: Protocol
    items: int  # items judged (after sampling)
    scores: dict[str, ModelScore] = Field(default_factory=dict)
    pairwise: dict[str, PairwiseStats] = Field(default_factory=dict)
    unparseable: int = 0
    failed: int = 0
    requests: int = 0  # HTTP requests (or local generations) made, retries included
    retries: int = 0
    cache_hits: int = 0
    reasked: int = 0  # answers with no readable verdict, asked again in the run
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None  # None when the model has no known price
    wall_s: float = 0.0
    calibration: Calibration | None = None
    verdicts: list[ItemVerdict] = Field(default_factory=list)
    max_failed: int = 0  # judgements allowed without a verdict before the judge counts as failed
    error: str | None = None  # why the judge stopped before judging everything (a 401, its budget)

    @property
    def without_verdict(self) -> int:
        return self.failed + self.unparseable

    @property
    def problem(self) -> str | None:
        """Why this judge's figures cannot be trusted (None: it judged enough items); one line."""
        total = len(self.verdicts)
        if self.error:
            return (f"judge {self.name!r} stopped: {self.error} "
                    f"({self.without_verdict} of {total} judgements without a verdict)")
        if total == 0:
            return f"judge {self.name!r} judged no items"
        if self.without_verdict <= self.max_failed:
            return None
        first = next((v.reason for v in self.verdicts if v.status == "error"), None) or next(
            (v.reason for v in self.verdicts if v.status == "unparseable"), "")
        return (f"judge {self.name!r}: {self.without_verdict} of {total} judgements without a verdict "
                f"({self.failed} failed, {self.unparseable} unparseable; max_failed {self.max_failed})"
                + (f"; first: {first}" if first else ""))


class JudgeReport(_Frozen):
    """Every judge of a run, and judge-vs-judge agreement (Cohen's kappa on shared verdicts)."""

    runs: list[JudgeRun] = Field(default_factory=list)
    agreement: dict[str, float] = Field(default_factory=dict)  # "a vs b" -> kappa

    def run(self, name: str) -> JudgeRun:
        for r in self.runs:
            if r.name == name:
                return r
        raise KeyError(f"no judge named {name!r}; known: {[r.name for r in self.runs]}")
