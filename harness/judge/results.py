"""Typed judge results: what goes into ``results.json`` under ``"judges"``.

An unparseable verdict is ``status="unparseable"`` with no score, never a
score; a judgement that failed for good after its retries is ``status="error"``
with the (redacted) reason, and is never cached.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.judge.config import Backend, Protocol

Status = Literal["ok", "unparseable", "error"]
Winner = Literal["base", "candidate", "tie"]

RAW_LIMIT = 600  # characters of the judge's own text kept per verdict


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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
    backend: Backend
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
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None  # None when the model has no known price
    wall_s: float = 0.0
    calibration: Calibration | None = None
    verdicts: list[ItemVerdict] = Field(default_factory=list)


class JudgeReport(_Frozen):
    """Every judge of a run, and judge-vs-judge agreement (Cohen's kappa on shared verdicts)."""

    runs: list[JudgeRun] = Field(default_factory=list)
    agreement: dict[str, float] = Field(default_factory=dict)  # "a vs b" -> kappa

    def run(self, name: str) -> JudgeRun:
        for r in self.runs:
            if r.name == name:
                return r
        raise KeyError(f"no judge named {name!r}; known: {[r.name for r in self.runs]}")
