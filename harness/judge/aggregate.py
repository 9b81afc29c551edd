"""From answers to verdicts and summaries: parse, combine the two pairwise orders, average, count,
and the 95% intervals (bootstrap for a mean score, Wilson for a win rate).

Pairwise (MT-Bench practice): the candidate wins only when both orders say so;
two orders that disagree make a tie, and the share of pairs whose orders agree
is the position-consistency rate. A pair with an unparseable order is reported
as unparseable, not as a tie.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from statistics import NormalDist

import numpy as np

from harness.judge.engine import Answer
from harness.judge.jobs import Planned
from harness.judge.results import RAW_LIMIT, ItemVerdict, ModelScore, PairwiseStats, Winner
from harness.judge.rubrics import Rubric
from harness.judge.secrets import redact
from harness.judge.verdicts import PairChoice, Parsed, parse_pairwise, parse_pointwise

# What each order's A/B/C means for base and candidate.
_ORDER_MEANING: dict[str, dict[PairChoice, Winner]] = {
    "ab": {"A": "base", "B": "candidate", "C": "tie"},
    "ba": {"A": "candidate", "B": "base", "C": "tie"},
}
MISSING = Answer(None, error="not judged (budget reached or run stopped)")
CONFIDENCE = 0.95


def _raw(text: str, limit: int = RAW_LIMIT) -> str:
    text = redact(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def verdicts(planned: Sequence[Planned], answers: Mapping[str, Answer], rubric: Rubric, *,
             stopped: str | None = None) -> list[ItemVerdict]:
    """One verdict per planned judgement; a request with no answer is an error (why the judge stopped)."""
    missing = Answer(None, error=f"not judged: {stopped}") if stopped else MISSING
    if rubric.protocol == "pointwise":
        return [_pointwise(p, answers.get(p.jobs[0].key, missing), rubric) for p in planned]
    return [_pairwise(p, [answers.get(j.key, missing) for j in p.jobs]) for p in planned]


def readable(rubric: Rubric) -> Callable[[str], bool]:
    """Whether an answer holds a verdict this rubric can read (what the engine caches and re-asks by)."""
    if rubric.protocol == "pointwise":
        return lambda text: parse_pointwise(text, rubric).ok
    return lambda text: parse_pairwise(text).ok


def _pointwise(p: Planned, answer: Answer, rubric: Rubric) -> ItemVerdict:
    if answer.text is None:
        return ItemVerdict(item_id=p.item_id, model=p.model, status="error", reason=answer.error or "")
    parsed = parse_pointwise(answer.text, rubric)
    return ItemVerdict(item_id=p.item_id, model=p.model, status="ok" if parsed.ok else "unparseable",
                       score=parsed.score, raw=_raw(answer.text), reason=parsed.reason,
                       cached=answer.cached)


def _pairwise(p: Planned, answers: list[Answer]) -> ItemVerdict:
    # Each order keeps its own share of the limit, so the second is never cut away entirely.
    raw = "\n---\n".join(f"[{order}] {_raw(a.text or '', RAW_LIMIT // 2)}"
                         for order, a in zip(_ORDER_MEANING, answers, strict=True))
    cached = all(a.cached for a in answers)
    failed = [a.error for a in answers if a.text is None]
    if failed:
        return ItemVerdict(item_id=p.item_id, model=p.model, status="error", reason=failed[0] or "",
                           raw=raw, cached=cached)
    parsed: list[Parsed] = [parse_pairwise(a.text or "") for a in answers]
    orders: dict[str, Winner | None] = {
        order: (_ORDER_MEANING[order][x.choice] if x.ok and x.choice else None)
        for order, x in zip(_ORDER_MEANING, parsed, strict=True)}
    bad = [f"{order}: {x.reason}" for order, x in zip(_ORDER_MEANING, parsed, strict=True) if not x.ok]
    if bad:
        return ItemVerdict(item_id=p.item_id, model=p.model, status="unparseable", orders=orders,
                           raw=raw, reason="; ".join(bad), cached=cached)
    ab, ba = orders["ab"], orders["ba"]
    consistent = ab == ba
    return ItemVerdict(item_id=p.item_id, model=p.model, status="ok", orders=orders, consistent=consistent,
                       winner=ab if consistent else "tie", raw=raw, cached=cached)


def model_scores(items: Sequence[ItemVerdict]) -> dict[str, ModelScore]:
    by_model: dict[str, list[ItemVerdict]] = defaultdict(list)
    for v in items:
        by_model[v.model].append(v)
    out: dict[str, ModelScore] = {}
    for model, vs in by_model.items():
        scores = np.array([v.score for v in vs if v.status == "ok" and v.score is not None], dtype=float)
        low, high = mean_ci(scores)
        out[model] = ModelScore(
            mean=float(scores.mean()) if scores.size else None,
            std=float(scores.std(ddof=1)) if scores.size > 1 else None,
            n=int(scores.size),
            unparseable=sum(v.status == "unparseable" for v in vs),
            failed=sum(v.status == "error" for v in vs), ci_low=low, ci_high=high)
    return out


def mean_ci(scores: np.ndarray, *, confidence: float = CONFIDENCE, resamples: int = 2000,
            seed: int = 0) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval of the mean over items (seeded: the same verdicts, the same CI)."""
    if scores.size < 2:
        return None, None
    rng = np.random.default_rng(seed)
    means = scores[rng.integers(0, scores.size, size=(resamples, scores.size))].mean(axis=1)
    tail = (1 - confidence) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def wilson_ci(successes: int, n: int, *, confidence: float = CONFIDENCE) -> tuple[float | None, float | None]:
    """Wilson score interval of a proportion: sound near 0 and 1 and for small n, unlike mean ± z·se."""
    if n == 0:
        return None, None
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    share = successes / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def pairwise_stats(items: Sequence[ItemVerdict]) -> dict[str, PairwiseStats]:
    by_candidate: dict[str, list[ItemVerdict]] = defaultdict(list)
    for v in items:
        by_candidate[v.model].append(v)
    out: dict[str, PairwiseStats] = {}
    for candidate, vs in by_candidate.items():
        ok = [v for v in vs if v.status == "ok"]
        wins = sum(v.winner == "candidate" for v in ok)
        losses = sum(v.winner == "base" for v in ok)
        ties = len(ok) - wins - losses
        n = len(ok)
        low, high = wilson_ci(wins, n)
        out[candidate] = PairwiseStats(
            wins=wins, ties=ties, losses=losses, n=n, win_rate_ci_low=low, win_rate_ci_high=high,
            win_rate=wins / n if n else None,
            win_rate_adjusted=(wins + ties / 2) / n if n else None,
            position_consistency=sum(bool(v.consistent) for v in ok) / n if n else None,
            unparseable=sum(v.status == "unparseable" for v in vs),
            failed=sum(v.status == "error" for v in vs))
    return out
