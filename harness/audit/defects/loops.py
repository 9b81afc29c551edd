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


def tail_loops(words: Words, max_period: int, min_repeats: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Per text: (repeats, words covered) of the longest periodic run ending it (0, 0 when none).

    Only runs of at least ``min_repeats`` periods are looked for: a text passes the
    vectorized test for period ``p`` when its last word, the two before it, and
    the words ``(min_repeats - 1) * p - 1`` back each equal the word ``p`` before them.
    """
    repeats = np.zeros(words.docs)
    covered = np.zeros(words.docs, dtype=np.int64)
    if not len(words.hash):
        return repeats, covered
    ends = np.searchsorted(words.doc, np.arange(words.docs), side="right") - 1  # last word of each text
    starts = np.searchsorted(words.doc, np.arange(words.docs), side="left")
    h = words.hash
    periods: dict[int, list[int]] = {}
    for p in range(1, max_period + 1):
        back = max((min_repeats - 1) * p - 1, 2)
        ok = ends - starts >= back + p
        if not ok.any():
            continue
        e = ends[ok]
        same = np.ones(len(e), dtype=bool)
        for k in sorted({0, 1, 2, back // 2, back}):  # sampled positions of the run it would need
            same &= h[e - k] == h[e - k - p]
        for d in np.flatnonzero(ok)[same].tolist():
            periods.setdefault(d, []).append(p)
    for d, ps in periods.items():
        tail = h[starts[d]:ends[d] + 1]
        for p in ps:
            match = tail[p:] == tail[:-p]
            bad = np.flatnonzero(~match)
            cover = len(match) - (int(bad[-1]) + 1 if len(bad) else 0) + p
            if cover // p > repeats[d] or (cover // p == repeats[d] and cover > covered[d]):
                repeats[d], covered[d] = cover / p, cover
    return repeats, covered
