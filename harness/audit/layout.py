"""Which turn texts make up each row's record, prompt and response, and each field's word sequence.

A row's fields are concatenations of some of its turns' contents, joined by
newlines (:class:`harness.data.record.Record`: ``text`` is every turn,
``prompt`` the non-system turns before the last assistant turn, ``response``
that turn). A newline separates words and tokens, and normalization (NFKC,
casefold) never reaches across one, so a field's words are its turns' words
in order. The scan therefore tokenizes and hashes each turn once and gathers
the hashes per field, which gives the same word hashes as scanning each
field's text, with a third of the tokenizing and hashing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.audit.arrays import distinct
from harness.audit.hashing import GramBatch
from harness.data.record import ASSISTANT, SYSTEM, TEXT, Record

FIELDS = ("record", "prompt", "response")


@dataclass(frozen=True)
class Layout:
    """Turn contents of a chunk of rows and, per field, which of them each row's field joins."""

    segments: list[str]  # every turn's content, row by row
    parts: dict[str, tuple[np.ndarray, np.ndarray]]  # field -> (segment ids, row offsets: rows + 1)
    rows: int


def layout(records: Sequence[Record]) -> Layout:
    segments: list[str] = []
    prompt: list[int] = []
    response: list[int] = []
    n_all, n_prompt, n_response = [], [], []  # segments per row, per field
    for r in records:
        turns = r.turns
        base = len(segments)
        n = len(turns)
        segments.extend([t.content for t in turns])
        n_all.append(n)
        if n == 2 and turns[1].role == ASSISTANT and turns[0].role != SYSTEM:  # the common row: one pair
            prompt.append(base)
            response.append(base + 1)
            n_prompt.append(1)
            n_response.append(1)
            continue
        last = n - 1
        while last >= 0 and turns[last].role != ASSISTANT:
            last -= 1
        if last >= 0:
            response.append(base + last)
        elif n == 1 and turns[0].role == TEXT:  # a plain text is its own target
            response.append(base)
        n_response.append(1 if last >= 0 or (n == 1 and turns[0].role == TEXT) else 0)
        took = [base + i for i in range(last if last >= 0 else n) if turns[i].role != SYSTEM]
        prompt.extend(took)
        n_prompt.append(len(took))
    ptr = np.zeros((3, len(records) + 1), dtype=np.int64)
    np.cumsum(np.array([n_all, n_prompt, n_response], dtype=np.int64).reshape(3, -1), axis=1, out=ptr[:, 1:])
    parts = {"record": (np.arange(len(segments), dtype=np.int64), ptr[0]),
             "prompt": (np.array(prompt, dtype=np.int64), ptr[1]),
             "response": (np.array(response, dtype=np.int64), ptr[2])}
    return Layout(segments, parts, len(records))


@dataclass(frozen=True)
class FieldWords:
    """One field's words for every row of a chunk."""

    batch: GramBatch  # docs are rows
    boundaries: np.ndarray | None  # words that start a segment other than their row's first (None: none)
    ids: np.ndarray  # segment ids in field order
    ptr: np.ndarray  # row offsets into ids


def field_words(seg: GramBatch, word_hash: np.ndarray, ids: np.ndarray, ptr: np.ndarray) -> FieldWords:
    """Gather the words of segments ``ids`` (``seg``: the segments' batch, ``word_hash`` its hashes)."""
    seg_words = seg.doc_words
    counts = np.diff(ptr)
    if len(ids) == seg.docs:  # every segment, in order (the record field): regroup, nothing to copy
        batch, starts = seg.regroup(seg_words[ptr]), seg_words[:-1]
    else:
        lens = seg_words[ids + 1] - seg_words[ids]
        ends = np.cumsum(lens)
        starts = ends - lens  # where each of the field's segments starts among the field's words
        take = np.repeat(seg_words[ids] - starts, lens) + np.arange(int(ends[-1]) if len(ends) else 0)
        batch = GramBatch.from_word_hashes(word_hash[take], np.concatenate(([0], ends))[ptr])
    boundaries = None
    if len(counts) and counts.max() > 1:
        inner = np.ones(len(ids), dtype=bool)
        inner[ptr[:-1][counts > 0]] = False  # a row's first segment starts the row, not a boundary
        boundaries = starts[inner]
    return FieldWords(batch, boundaries, ids, ptr)


def _across(fw: FieldWords, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(first word, last word) of the ``n``-word windows of a row that span two of its segments."""
    b, cut = fw.batch, fw.boundaries
    if cut is None or not len(cut) or n < 2 or len(b.word_doc) < n:
        empty = np.zeros(0, np.int64)
        return empty, empty
    # A window spans boundary s when it starts 1 to n-1 words before s and stays in s's row.
    row = b.word_doc[np.minimum(cut, len(b.word_doc) - 1)]
    starts = cut[:, None] - np.arange(1, n, dtype=np.int64)[None, :]
    inside = (starts >= b.doc_words[row][:, None]) & (starts + n <= b.doc_words[row + 1][:, None])
    first = distinct(starts[inside])
    return first, first + n - 1


def across_grams(fw: FieldWords, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n``-grams that span two segments of a row (the rest are the segments' own): (hash64, row)."""
    first, last = _across(fw, n)
    return fw.batch.span_hash(first, last), fw.batch.word_doc[first]


def joined_grams(fw: FieldWords, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n``-grams a field has beyond its segments' own: those across segments, and the whole
    field when it is 1 to n-1 words (the shingling convention). (hash64, row), sorted by row."""
    b = fw.batch
    first, last = _across(fw, n)
    counts = b.word_counts
    short = np.flatnonzero((counts > 0) & (counts < n))
    first = np.concatenate((first, b.doc_words[short])).astype(np.int64)
    last = np.concatenate((last, b.doc_words[short + 1] - 1)).astype(np.int64)
    rows = np.concatenate((b.word_doc[first[: len(first) - len(short)]], short)).astype(np.int64)
    order = np.argsort(rows, kind="stable")
    return b.span_hash(first[order], last[order]), rows[order]
