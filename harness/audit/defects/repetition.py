"""``repetition`` (warning): degenerate repetition, by Gopher's statistics (Rae et al. 2021, table A1).

A response is flagged (the prompt too with ``fields: [response, prompt]``:
generated instructions loop less often, and each field costs a tokenizing
pass) when any statistic of :mod:`harness.audit.defects.gopher` exceeds its
limit:

=========================  ======  =====   ==========================================
statistic                  Gopher  here    why
=========================  ======  =====   ==========================================
dup_line_frac              0.30    0.30    (lines of at least ``min_line_words`` words)
dup_para_frac              0.30    0.30
dup_line_char_frac         0.20    0.20
dup_para_char_frac         0.20    0.20
top_2gram_char_frac        0.20    0.40    n-gram limits doubled, from ``min_words``
top_3gram_char_frac        0.18    0.36    words: see below
top_4gram_char_frac        0.16    0.32
dup_5gram_char_frac        0.15    0.30
dup_6 .. dup_10gram        0.14 .. 0.10    0.28 .. 0.20
=========================  ======  =====   ==========================================

Gopher filtered web documents. Instruction data is short and step-by-step
answers repeat their phrases by design ("Then find the total cost of ..."):
on the 8,779 responses of real instruction pairs (``bench/_planted_data.real_pool``)
Gopher's own limits flag 8.3%, these 0.3%. A generator caught in a loop
repeats whole sentences and lines and lands far beyond either. The n-gram
and loop rules apply from ``min_words`` words (a short answer's most
frequent 2-gram is a large share of it by construction), the line rules
from ``min_lines`` lines, and
lines inside code fences are left out (a code block's ``}`` repeats by
design). Every limit can be set through the check's ``limits`` param.

Beyond Gopher, ``tail_loop_repeats`` (:mod:`harness.audit.defects.loops`): a
text that ends in the same 1 to ``loop_max_period`` words repeated at least
``loop_repeats`` times, over at least ``loop_words`` words ("... located in
located in located in"), the loop a generator falls into before its token
limit, which in a long answer is too small a share for Gopher's limits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from harness.audit.checks import audit_check
from harness.audit.defects.gopher import Words, line_stats, text_lengths, word_stats
from harness.audit.defects.loops import tail_loops
from harness.audit.rows import CHUNK_ROWS, Hit, Rows

GOPHER_LIMITS = {
    "dup_line_frac": 0.30, "dup_para_frac": 0.30, "dup_line_char_frac": 0.20, "dup_para_char_frac": 0.20,
    "top_2gram_char_frac": 0.20, "top_3gram_char_frac": 0.18, "top_4gram_char_frac": 0.16,
    "dup_5gram_char_frac": 0.15, "dup_6gram_char_frac": 0.14, "dup_7gram_char_frac": 0.13,
    "dup_8gram_char_frac": 0.12, "dup_9gram_char_frac": 0.11, "dup_10gram_char_frac": 0.10}
LIMITS = {k: round(v * 2, 2) if "gram" in k else v for k, v in GOPHER_LIMITS.items()}
_FENCE = re.compile(r"^\s*(```|~~~).*?^\s*\1", re.M | re.S)


def _prose_lines(text: str, min_line_words: int) -> str:
    """``text`` without code fences and without lines shorter than ``min_line_words`` words."""
    if "```" in text or "~~~" in text:
        text = _FENCE.sub("\n", text)
    # Words here are whitespace-separated tokens: enough to tell "}" and "---" from a line of text.
    return "\n".join(line for line in text.split("\n") if len(line.split()) >= min_line_words) \
        if "\n" in text else text


def _distinct(lines: list[str]) -> bool:
    """No two non-blank lines are equal once stripped. Then neither are the prose's (a subset of the
    lines, when no code fence is cut out), its paragraphs (two equal ones begin with equal stripped
    lines), nor its lines: every line statistic is 0 without computing it."""
    kept = [s for s in map(str.strip, lines) if s]
    return len(set(kept)) == len(kept)


def _line_hits(texts: list[str], params: Mapping[str, Any]) -> dict[int, dict[str, float]]:
    out = {}
    for pos, text in enumerate(texts):
        if text.count("\n") + 1 < params["min_lines"]:
            continue
        lines = text.split("\n")
        if len(set(lines)) == len(lines) and "\n\n" not in text:
            continue  # no line repeats (and no paragraphs to repeat): every line statistic is 0
        if "```" not in text and "~~~" not in text and _distinct(lines):
            continue  # the same, through blank lines: a repeated paragraph repeats its first line
        prose = _prose_lines(text, params["min_line_words"])
        if prose.count("\n") + 1 < params["min_lines"]:
            continue
        stats = line_stats(prose)
        over = {k: round(v, 4) for k, v in stats.items() if v > params["limits"][k]}
        if over:
            out[pos] = over
    return out


def _ngram_hits(texts: list[str], counts: np.ndarray, params: Mapping[str, Any],
                limits: Mapping[str, float]) -> dict[int, dict[str, float]]:
    """Gopher's n-gram statistics and tail loops of the texts of at least ``min_words`` words."""
    out: dict[int, dict[str, float]] = {}
    eligible = np.flatnonzero(counts >= params["min_words"])
    for lo in range(0, len(eligible), CHUNK_ROWS):
        part = eligible[lo:lo + CHUNK_ROWS]
        words = Words([texts[p] for p in part])
        repeats, covered = tail_loops(words, params["loop_max_period"], params["loop_repeats"])
        loop = (repeats >= params["loop_repeats"]) & (covered >= params["loop_words"])
        for i in np.flatnonzero(loop).tolist():
            out.setdefault(int(part[i]), {})["tail_loop_repeats"] = round(float(repeats[i]), 2)
        stats = word_stats(words, text_lengths([texts[p] for p in part]), dict(limits))
        where = part
        for name, values in stats.items():
            for i in np.flatnonzero(values > limits[name]).tolist():  # NaN (not computed) compares False
                out.setdefault(int(where[i]), {})[name] = round(float(values[i]), 4)
    return out


def _scan(rows: Rows, field: str, params: Mapping[str, Any]) -> list[Hit]:
    texts = list(rows.text(field))
    limits = params["limits"]
    found = _line_hits(texts, params)
    grams = {k: v for k, v in limits.items() if "gram" in k}
    for pos, over in _ngram_hits(texts, rows.words(field), params, grams).items():
        found.setdefault(pos, {}).update(over)
    hits = []
    for pos in sorted(found):
        over = found[pos]
        limit_of = {**limits, "tail_loop_repeats": float(params["loop_repeats"])}
        worst = max(over, key=lambda k: over[k] / limit_of[k])
        hits.append(Hit(pos, f"the {field} repeats itself: {worst} {over[worst]:.2f} > {limit_of[worst]:.2f}"
                             f"{f' (and {len(over) - 1} more)' if len(over) > 1 else ''}",
                        field=field, details={"over": over, "limits": {k: limit_of[k] for k in over}}))
    return hits


@audit_check("repetition", severity="warning", fields=("response",),
             flagged_as="repeat themselves (Gopher's rules)",
             params={"fields": ["response"], "min_words": 50, "min_lines": 3, "min_line_words": 2,
                     "limits": LIMITS, "loop_repeats": 4, "loop_words": 12, "loop_max_period": 24})
def repetition(rows: Rows, params: Mapping[str, Any]) -> list[Hit]:
    """Degenerate repetition: duplicate lines, paragraphs and n-grams beyond Gopher's limits."""
    unknown = set(params["limits"]) - set(LIMITS)
    if unknown:
        raise ValueError(f"repetition: unknown limits {sorted(unknown)} (known: {sorted(LIMITS)})")
    merged = {**params, "limits": {**LIMITS, **params["limits"]}}
    hits: list[Hit] = []
    for field in params["fields"]:
        hits += _scan(rows, field, merged)
    return sorted(hits, key=lambda h: h.pos)
