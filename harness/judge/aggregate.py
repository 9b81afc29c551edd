"""From answers to verdicts and summaries: parse, combine the two pairwise orders, average, count.

Pairwise (MT-Bench practice): the candidate wins only when both orders say so;
two orders that disagree make a tie, and the share of pairs whose orders agree
is the position-consistency rate. A pair with an unparseable order is reported
as unparseable, not as a tie.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

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


def _raw(text: str, limit: int = RAW_LIMIT) -> str:
    text = redact(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def verdicts(planned: Sequence[Planned], answers: Mapping[str, Answer], rubric: Rubric) -> list[ItemVerdict]:
    if rubric.protocol == "pointwise":
        return [_pointwise(p, answers.get(p.jobs[0].key, MISSING), rubric) for p in planned]
    return [_pairwise(p, [answers.get(j.key, MISSING) for j in p.jobs]) for p in planned]


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
        out[model] = ModelScore(
            mean=float(scores.mean()) if scores.size else None,
            std=float(scores.std(ddof=1)) if scores.size > 1 else None,
            n=int(scores.size),
            unparseable=sum(v.status == "unparseable" for v in vs),
            failed=sum(v.status == "error" for v in vs))
    return out


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
        out[candidate] = PairwiseStats(
            wins=wins, ties=ties, losses=losses, n=n,
            win_rate=wins / n if n else None,
            win_rate_adjusted=(wins + ties / 2) / n if n else None,
            position_consistency=sum(bool(v.consistent) for v in ok) / n if n else None,
            unparseable=sum(v.status == "unparseable" for v in vs),
            failed=sum(v.status == "error" for v in vs))
    return out
