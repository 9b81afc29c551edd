"""Parse a judge's answer into a verdict, tolerating chatter around it.

The answer is searched, in order of trust, for the rubric's verdict format
(``[[4]]``, ``[[CORRECT]]``, ``[[A]]``), then a labelled verdict (``Rating: 4``,
``"score": 4``, ``Verdict: B``), then a last line that is nothing but a verdict.
The first kind that occurs decides. If it yields two different verdicts, or a
score off the scale, the answer is *unparseable*, with the reason: it is never
turned into a score by guessing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar, cast

from harness.judge.rubrics import Rubric

PairChoice = Literal["A", "B", "C"]
T = TypeVar("T")

_NUM = r"[+-]?\d+(?:\.\d+)?"
_BRACKET_SCORE = re.compile(rf"\[\[\s*({_NUM})\s*(?:/\s*(\d+)\s*)?\]\]")
_KEYWORD_SCORE = re.compile(
    rf"\b(?:rating|score|grade|verdict)\b[\"']?\s*(?:is|of|=|:)?\s*[:=]?\s*[*_`\"']*\s*({_NUM})"
    r"(?:\s*(?:/|out\s+of)\s*(\d+))?",
    re.IGNORECASE,
)
_BRACKET_WORD = re.compile(r"\[\[\s*([A-Za-z][A-Za-z _-]*?)\s*\]\]")
_KEYWORD_WORD = re.compile(
    r"\b(?:verdict|answer|judg(?:e)?ment|winner|label)\b\s*(?:is|:|=)\s*[*_`\"'\[]*\s*([A-Za-z][A-Za-z_-]*)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Parsed:
    """A parsed verdict: a score (pointwise), a choice A/B/C (pairwise), or why there is none."""

    ok: bool
    score: float | None = None
    choice: PairChoice | None = None
    reason: str = ""


def unparseable(reason: str) -> Parsed:
    return Parsed(ok=False, reason=reason)


def parse_pointwise(text: str, rubric: Rubric) -> Parsed:
    """A score on the rubric's scale, or on its labels (each label worth its score)."""
    if not text.strip():
        return unparseable("empty answer")
    if rubric.labels is not None:
        return _parse_label(text, rubric.labels)
    return _parse_number(text, rubric)


def parse_pairwise(text: str) -> Parsed:
    """``A``, ``B`` or ``C`` (tie) from a pairwise answer."""
    if not text.strip():
        return unparseable("empty answer")
    known: dict[str, PairChoice] = {"a": "A", "b": "B", "c": "C", "tie": "C", "draw": "C"}
    for kind, found in (("[[...]]", _bracket_words(text)), ("labelled", _keyword_words(text)),
                        ("last line", _last_line_word(text))):
        hits = [known[w.lower()] for w in found if w.lower() in known]
        if hits:
            return _single(hits, kind, lambda v: Parsed(ok=True, choice=cast(PairChoice, v)))
    return unparseable("no verdict ([[A]], [[B]] or [[C]]) found")


def _parse_number(text: str, rubric: Rubric) -> Parsed:
    low, high = rubric.score_range
    for kind, pattern in (("[[...]]", _BRACKET_SCORE), ("labelled", _KEYWORD_SCORE)):
        found = pattern.findall(text)
        if not found:
            continue
        values: list[float] = []
        for number, denominator in found:
            if denominator and float(denominator) != high:
                return unparseable(f"rated {number}/{denominator}, not on the {low:g}..{high:g} scale")
            values.append(float(number))
        parsed = _single(values, kind, lambda v: Parsed(ok=True, score=float(v)))
        if parsed.ok and parsed.score is not None and not low <= parsed.score <= high:
            return unparseable(f"score {parsed.score:g} is outside the scale {low:g}..{high:g}")
        return parsed
    last = _last_line_word(text, numbers=True)
    if last:
        score = float(last[0])
        if low <= score <= high:
            return Parsed(ok=True, score=score)
        return unparseable(f"score {score:g} is outside the scale {low:g}..{high:g}")
    return unparseable(f"no rating ([[N]], N from {low:g} to {high:g}) found")


def _parse_label(text: str, labels: dict[str, float]) -> Parsed:
    known = {k.lower(): k for k in labels}
    for kind, found in (("[[...]]", _bracket_words(text)), ("labelled", _keyword_words(text)),
                        ("last line", _last_line_word(text))):
        hits = [known[w.lower()] for w in found if w.lower() in known]
        if hits:
            return _single(hits, kind, lambda v: Parsed(ok=True, score=labels[v]))
    return unparseable(f"no verdict ({', '.join(f'[[{k}]]' for k in labels)}) found")


def _single(values: list[T], kind: str, make: Callable[[T], Parsed]) -> Parsed:
    distinct = list(dict.fromkeys(values))
    if len(distinct) > 1:
        shown = ", ".join(str(_tidy(v)) for v in distinct[:4])
        return unparseable(f"ambiguous: {kind} verdicts disagree ({shown})")
    result: Parsed = make(distinct[0])
    return result


def _tidy(v: object) -> object:
    return f"{v:g}" if isinstance(v, float) else v


def _bracket_words(text: str) -> list[str]:
    return [w.strip() for w in _BRACKET_WORD.findall(text)]


def _keyword_words(text: str) -> list[str]:
    return list(_KEYWORD_WORD.findall(text))


def _last_line_word(text: str, numbers: bool = False) -> list[str]:
    """The last non-empty line, when it is one bare token ("B", "**CORRECT**", "4")."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    token = lines[-1].strip("*_`\"'.!()[] ") if lines else ""
    if numbers:
        return [token] if re.fullmatch(_NUM, token) else []
    return [token] if re.fullmatch(r"[A-Za-z][A-Za-z_-]*", token) else []
