"""Generator loops at the end of a text: the same few words repeated until the generator stopped.

Gopher's statistics are shares of the whole text, so a long answer that ends
in "... located in located in located in" (a loop a generator fell into before
its token limit) can stay under every limit. :func:`tail_loops` measures the
periodic run at the very end: for each period ``p`` up to ``max_period``
words, how many of the last words equal the word ``p`` before them, without a
break. It is vectorized in two steps: a per-text test of the last three words
against each period (one gather per period), then an exact count for the few
texts that pass.
"""

from __future__ import annotations

import numpy as np

from harness.audit.defects.gopher import Words


def tail_loops(words: Words, max_period: int) -> tuple[np.ndarray, np.ndarray]:
    """Per text: (repeats, words covered) of the longest periodic run ending it (0, 0 when none)."""
    repeats = np.zeros(words.docs)
    covered = np.zeros(words.docs, dtype=np.int64)
    if not len(words.hash):
        return repeats, covered
    ends = np.searchsorted(words.doc, np.arange(words.docs), side="right") - 1  # last word of each text
    starts = np.searchsorted(words.doc, np.arange(words.docs), side="left")
    h, doc = words.hash, words.doc
    maybe = np.zeros(words.docs, dtype=bool)
    for p in range(1, max_period + 1):
        ok = (ends - starts) >= p + 2
        e = np.where(ok, ends, 0)
        same = ok & (doc[np.maximum(e - p - 2, 0)] == doc[e])
        for k in range(3):  # the last three words each equal the word p before them
            same &= h[e - k] == h[np.maximum(e - k - p, 0)]
        maybe |= same
    for d in np.flatnonzero(maybe).tolist():
        tail = h[starts[d]:ends[d] + 1]
        for p in range(1, min(max_period, len(tail) - 1) + 1):
            match = tail[p:] == tail[:-p]
            run = len(match) - (int(np.flatnonzero(~match)[-1]) + 1 if (~match).any() else 0)
            cover = run + p
            if cover // p > repeats[d] or (cover // p == repeats[d] and cover > covered[d]):
                repeats[d], covered[d] = cover / p, cover
    return repeats, covered
