"""Gopher's repetition statistics (Rae et al. 2021, appendix A, table A1), vectorized over many texts.

Per text, with ``L`` its length in characters:

* ``dup_para_frac`` / ``dup_line_frac``: paragraphs (split on blank lines) or
  lines (split on line breaks) that repeat an earlier one, over all of them;
  ``dup_para_char_frac`` / ``dup_line_char_frac``: their characters over ``L``.
* ``top_{n}gram_char_frac`` (n = 2, 3, 4): the most frequent word n-gram's
  characters (words and the spaces between) times its count, over ``L``.
* ``dup_{n}gram_char_frac`` (n = 5 .. 10): characters of the words covered by
  an n-gram occurrence that repeats an earlier occurrence, over ``L``
  (overlapping occurrences count a word once).

Words are ``\\w+`` runs, lower-cased (the audit's word tokens for ASCII text;
other text is split on ASCII punctuation and spaces, its letters kept as
UTF-8 bytes); lengths are counted in UTF-8 bytes (characters, for ASCII text). The n-gram
statistics are computed with numpy on a chunk of texts at once: word hashes
(:func:`harness.audit.hashing.word_hashes`), a rolling polynomial hash per
n-gram, one sort per n for the top n-grams and one stable sort for repeated
5-grams; the 6..10-grams are only computed for texts holding a repeated
5-gram (a repeated 6-gram contains a repeated 5-gram).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from harness.audit.hashing import word_hashes

TOP_NGRAMS = (2, 3, 4)
DUP_NGRAMS = (5, 6, 7, 8, 9, 10)
_MIX = np.uint64(0x9E3779B97F4A7C15)
_KEY_BITS = np.uint64(40)  # hash bits kept in a sort key (doc and gram length take the other 24)
_PARAGRAPHS = re.compile(r"\n\s*\n")
_LINES = re.compile(r"\n+")


def line_stats(text: str) -> dict[str, float]:
    """The four line and paragraph statistics of one text (0 when it has one line)."""
    out = {"dup_para_frac": 0.0, "dup_para_char_frac": 0.0, "dup_line_frac": 0.0, "dup_line_char_frac": 0.0}
    stripped = text.strip()
    if "\n" not in stripped:
        return out
    for name, splitter in (("para", _PARAGRAPHS), ("line", _LINES)):
        parts = [p.strip() for p in splitter.split(stripped)]
        parts = [p for p in parts if p]
        seen: set[str] = set()
        dups = chars = 0
        for part in parts:
            if part in seen:
                dups += 1
                chars += len(part)
            else:
                seen.add(part)
        out[f"dup_{name}_frac"] = dups / max(len(parts), 1)
        out[f"dup_{name}_char_frac"] = chars / max(len(text), 1)
    return out


# Lower-cased bytes: ASCII non-word bytes become spaces, NUL separates texts, bytes >= 0x80 stay word bytes.
_WORD_BYTES = b"\x00" + bytes(c if chr(c).isalnum() or c == 0x5F else 0x20 for c in range(1, 128)) + \
    bytes(range(128, 256))


def _byte_words(texts: Sequence[str]) -> bytes:
    """Word streams of ``texts`` with one C-level pass (the audit's ``\\w+`` tokens for ASCII text;
    non-ASCII letters are kept as their UTF-8 bytes, not NFKC-folded: enough to tell repeats)."""
    joined = "\x00".join(texts)
    if joined.count("\x00") != max(len(texts) - 1, 0):
        joined = "\x00".join(t.replace("\x00", " ") for t in texts)
    return joined.encode("utf-8", "surrogatepass").lower().translate(_WORD_BYTES)


class Words:
    """Word hashes, lengths and owning text of a chunk of texts."""

    def __init__(self, texts: Sequence[str]) -> None:
        data = np.frombuffer(_byte_words(texts), dtype=np.uint8)
        padded = np.zeros(len(data) + 2, dtype=np.int8)  # word bytes as 1 between two 0 sentinels
        np.logical_and(data != 0x20, data != 0, out=padded[1:-1].view(bool))
        edges = np.flatnonzero(np.diff(padded))
        starts, ends = edges[0::2], edges[1::2]
        self.hash = word_hashes(data, starts, ends) if len(starts) else np.zeros(0, np.uint64)
        self.length = (ends - starts).astype(np.int64)
        self.doc = np.searchsorted(np.flatnonzero(data == 0), starts).astype(np.int64)
        self.docs = len(texts)

    def subset(self, keep_docs: np.ndarray) -> Words:
        """The words of the texts ``keep_docs`` (a bool mask), texts renumbered in order."""
        keep = keep_docs[self.doc]
        out = object.__new__(Words)
        out.hash, out.length = self.hash[keep], self.length[keep]
        out.doc = (np.cumsum(keep_docs) - 1)[self.doc[keep]]
        out.docs = int(keep_docs.sum())
        return out


def _rolling(words: Words, n: int) -> np.ndarray:
    """Hash of the n words starting at each position (rolling polynomial, wraps mod 2^64)."""
    h = words.hash.copy()
    for k in range(1, n):
        count = len(words.hash) - k
        h = h[:count] * _MIX + words.hash[k:k + count]
    return h


def _inside(words: Words, n: int) -> np.ndarray:
    """Start positions of the n-grams that lie inside one text."""
    count = max(len(words.hash) - n + 1, 0)
    return np.flatnonzero(words.doc[:count] == words.doc[n - 1:n - 1 + count])


def _gram_chars(words: Words, first: np.ndarray, n: int) -> np.ndarray:
    cum = np.concatenate(([0], np.cumsum(words.length)))
    return cum[first + n] - cum[first] + (n - 1)


def _top(words: Words, n: int, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per text: (count x characters of its most frequent n-gram over its length, that count)."""
    first = _inside(words, n)
    h = _rolling(words, n)[first]
    chars = np.minimum(_gram_chars(words, first, n), 255).astype(np.uint64)
    key = (words.doc[first].astype(np.uint64) << np.uint64(48)) | (chars << _KEY_BITS) | (h >> np.uint64(24))
    s = np.sort(key)
    frac, top = np.zeros(words.docs), np.zeros(words.docs, dtype=np.int64)
    if not len(s):
        return frac, top
    run = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
    counts = np.diff(np.concatenate((run, [len(s)])))
    doc = (s[run] >> np.uint64(48)).astype(np.int64)
    size = ((s[run] >> _KEY_BITS) & np.uint64(255)).astype(np.int64)
    group = np.flatnonzero(np.concatenate(([True], doc[1:] != doc[:-1])))  # runs are sorted by text
    best = np.maximum.reduceat(counts * 256 + size, group)  # most frequent, then longest
    frac[doc[group]] = (best // 256) * (best % 256) / np.maximum(lengths[doc[group]], 1)
    top[doc[group]] = best // 256
    return frac, top


def _longest(words: Words, n: int) -> np.ndarray:
    """Per text: the characters of its longest n-gram (0 when it has none)."""
    first = _inside(words, n)
    out = np.zeros(words.docs, dtype=np.int64)
    if len(first):
        doc = words.doc[first]
        group = np.flatnonzero(np.concatenate(([True], doc[1:] != doc[:-1])))
        out[doc[group]] = np.maximum.reduceat(_gram_chars(words, first, n), group)
    return out


def _repeats(words: Words, n: int) -> np.ndarray:
    """Per text: whether some n-gram occurs twice in it (one sort, no argsort)."""
    first = _inside(words, n)
    key = (words.doc[first].astype(np.uint64) << np.uint64(48)) | (_rolling(words, n)[first] >> np.uint64(16))
    s = np.sort(key)
    out = np.zeros(words.docs, dtype=bool)
    out[(s[1:][s[1:] == s[:-1]] >> np.uint64(48)).astype(np.int64)] = True
    return out


def _dup_chars(words: Words, n: int) -> np.ndarray:
    """Per text: characters of the words covered by n-gram occurrences that repeat an earlier one."""
    first = _inside(words, n)
    key = (words.doc[first].astype(np.uint64) << np.uint64(48)) | (_rolling(words, n)[first] >> np.uint64(16))
    order = np.argsort(key, kind="stable")  # equal keys stay in position order: the first is not a repeat
    sk = key[order]
    repeat = first[order[np.flatnonzero(sk[1:] == sk[:-1]) + 1]]
    size = len(words.hash) + 1
    cover = np.bincount(repeat, minlength=size) - np.bincount(repeat + n, minlength=size)
    covered = np.cumsum(cover[:-1]) > 0
    return np.bincount(words.doc[covered], weights=words.length[covered], minlength=words.docs)


def text_lengths(texts: Sequence[str]) -> np.ndarray:
    """UTF-8 lengths: word lengths are UTF-8 bytes of the normalized words, so texts are measured alike."""
    return np.fromiter((len(t) if t.isascii() else len(t.encode("utf-8")) for t in texts), dtype=np.int64,
                       count=len(texts))


def ngram_stats(texts: Sequence[str], limits: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """The nine top/duplicate n-gram statistics of every text (see :func:`word_stats`)."""
    return word_stats(Words(texts), text_lengths(texts), limits)


def word_stats(words: Words, lengths: np.ndarray,
               limits: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """The nine top/duplicate n-gram statistics of every text of ``words`` (arrays, one value per text).

    With ``limits`` (statistic -> threshold), a statistic that cannot exceed its
    limit is not computed exactly and reads NaN: top 3- and 4-gram fractions
    are bounded by the top 2-gram count times the longest n-gram, and every
    duplicate n-gram fraction needs a repeated 5-gram and is at most the
    5-gram one.
    """
    out: dict[str, np.ndarray] = {}
    out["top_2gram_char_frac"], top2 = _top(words, 2, lengths)
    for n in TOP_NGRAMS[1:]:
        name = f"top_{n}gram_char_frac"
        values = np.full(words.docs, np.nan)
        maybe = np.ones(words.docs, dtype=bool) if limits is None else \
            top2 * _longest(words, n) / np.maximum(lengths, 1) > limits.get(name, 0.0)
        if maybe.any():
            values[maybe] = _top(words.subset(maybe), n, lengths[maybe])[0]
        out[name] = values
    for n in DUP_NGRAMS:
        out[f"dup_{n}gram_char_frac"] = np.full(words.docs, 0.0 if limits is None else np.nan)
    maybe = _repeats(words, DUP_NGRAMS[0])
    if maybe.any():
        sub, where = words.subset(maybe), np.flatnonzero(maybe)
        five = _dup_chars(sub, 5) / np.maximum(lengths[where], 1)
        out["dup_5gram_char_frac"][where] = five
        lowest = min((limits or {}).get(f"dup_{n}gram_char_frac", 0.0) for n in DUP_NGRAMS)
        longer = five > lowest if limits is not None else np.ones(len(where), dtype=bool)
        if longer.any():
            sub2, where2 = sub.subset(longer), where[longer]
            for n in DUP_NGRAMS[1:]:
                out[f"dup_{n}gram_char_frac"][where2] = _dup_chars(sub2, n) / np.maximum(lengths[where2], 1)
    return out
