"""Text normalization shared by every audit check.

Two views of a text:

* :func:`exact_form` for exact duplicates: Unicode NFKC, casefolded,
  whitespace collapsed to single spaces; punctuation is kept.
* word tokens for shingles and n-grams (GPT-3 appendix C style): NFKC,
  casefolded, ``\\w+`` runs (punctuation stripped). :func:`word_bytes` gives
  them as a byte stream with any run of spaces between words (no re-joining:
  :mod:`harness.audit.hashing` hashes words wherever they sit), and
  :func:`word_form` as single-spaced text for display and references.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np

from harness.audit.hashing import GramBatch, gram_hash64

WORD_RE = re.compile(r"\w+")
# ASCII fast path: bytes.translate maps every non-word byte to a space, which on
# ASCII text gives exactly the tokens of WORD_RE (\w is [A-Za-z0-9_] there).
_ASCII_WORDS = bytes(c if chr(c).isalnum() or c == 0x5F else 0x20 for c in range(128)) + b" " * 128


def exact_form(text: str) -> str:
    """NFKC, casefold, whitespace collapsed: the key of exact-duplicate checks."""
    if text.isascii():  # NFKC leaves ASCII alone and casefold is lower there: a third faster
        return " ".join(text.lower().split())
    return " ".join(_folded(text).split())


def word_bytes(text: str) -> bytes:
    """The text's word tokens (NFKC, casefold, ``\\w+``) as UTF-8, separated by runs of spaces."""
    if text.isascii():
        return text.encode("ascii").lower().translate(_ASCII_WORDS)
    return _unicode_words(text).encode("utf-8")


# Chunk path: NUL stays (it separates texts); bytes >= 0x80 only occur inside the
# already-tokenized word forms of non-ASCII texts, so they are word bytes.
_CHUNK_WORDS = b"\x00" + _ASCII_WORDS[1:128] + bytes(range(128, 256))


def word_stream(texts: Sequence[str]) -> bytes:
    """Word streams of many texts joined by NUL, with one C-level pass over the bytes.

    ASCII texts go in raw (lowercased and translated together); only non-ASCII
    texts are first NFKC-normalized and casefolded per text, their non-ASCII
    non-word characters made spaces (:func:`_words_spaced`). Equal, text by
    text, to ``b"\\0".join(word_bytes(t) for t in texts)`` up to runs of spaces.
    """
    parts = [t if t.isascii() else _words_spaced(t) for t in texts]
    joined = "\x00".join(parts)
    if joined.count("\x00") != max(len(parts) - 1, 0):  # a text holding NUL: it is a space there
        joined = "\x00".join(p.replace("\x00", " ") for p in parts)
    return joined.encode("utf-8").lower().translate(_CHUNK_WORDS)


def _unicode_words(text: str) -> str:
    return " ".join(WORD_RE.findall(_folded(text)))


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _words_spaced(text: str) -> str:
    """NFKC, casefold, and each non-ASCII character that is no word character made a space.

    The stream's byte table then blanks ASCII punctuation, and bytes >= 0x80 are
    what is left of the non-ASCII word characters: the tokens of
    :func:`_unicode_words`. A text's few distinct non-ASCII characters are
    replaced one by one, C-level, where the ``\\w+`` regex pass cost a quarter
    of the word stream's time on real text (6% of it not ASCII).
    """
    text = _folded(text)
    # ``\w`` in a str pattern is exactly isalnum() or "_".
    for c in {c for c in set(text) if c > "\x7f" and not (c.isalnum() or c == "_")}:
        text = text.replace(c, " ")
    return text


def word_form(text: str) -> str:
    """The text's word tokens joined by single spaces (idempotent; works on raw or exact forms)."""
    return " ".join(word_bytes(text).decode("utf-8").split())


# Exact stream: ASCII whitespace (what str.split() splits on) becomes a space; NUL
# separates texts; everything else is kept (punctuation counts for exact equality).
_ASCII_SPACES = bytes(0x20 if chr(c).isspace() else c for c in range(128)) + bytes(range(128, 256))


def exact_stream(texts: Sequence[str]) -> bytes:
    """The texts' :func:`exact_form` tokens as one byte stream (runs of spaces, NUL between texts)."""
    parts = [t if t.isascii() else exact_form(t) for t in texts]
    joined = "\x00".join(parts)
    if joined.count("\x00") != max(len(parts) - 1, 0):  # NUL inside a text: keep it a token byte
        joined = "\x00".join(p.replace("\x00", "\x01") for p in parts)
    return joined.encode("utf-8").lower().translate(_ASCII_SPACES)


def exact_keys(texts: Sequence[str]) -> np.ndarray:
    """64-bit keys: equal exactly when the :func:`exact_form` texts are equal (0: nothing but space)."""
    return GramBatch.from_bytes(exact_stream(texts), len(texts)).whole()


def exact_key(text: str) -> int:
    """Scalar reference of :func:`exact_keys`."""
    form = exact_form(text).replace("\x00", "\x01")  # as in the stream, where NUL separates texts
    return gram_hash64(form.encode("utf-8")) if form else 0
