"""``cut_off_response`` (warning): responses that stop before they are done.

One finding per row, with every reason that applies (``details["reasons"]``):

* ``unclosed_fence``: an odd number of code fences (```` ``` ````, ``~~~``);
* ``list_stops_at_number``: the last line is a bare item marker (``4.``, ``-``);
* ``ends_with_connector``: the last line (of at least 3 words) ends with an
  article, preposition, conjunction or auxiliary ("... and the"), or the text
  ends with a comma, a colon, a dash or an opening bracket;
* ``ends_mid_sentence``: the last line is prose (at least ``prose_words``
  words) without end punctuation, while the response's other sentences end
  with it;
* ``unclosed_bracket``: more ``(``, ``[``, ``{`` or ``“`` opened than closed,
  and the text does not end on a closing character;
* ``at_token_limit`` (with a tokenizer only): exactly ``token_limits`` tokens
  long (256, 512, ... the limits generators are run with) and not ending on
  end punctuation.

Poems, titles, names and labels end without a period; the prose rules need
words enough for a sentence and punctuation elsewhere in the response.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np

from harness.audit.checks import audit_check
from harness.audit.rows import Hit, Rows

TAIL_CHARS = 400  # the end-of-text rules read the last line's last characters only
_END = frozenset(".!?…\"'”’)]}>*`_|;~")  # a response may end on these
_CONNECTORS = frozenset((  # words a finished sentence does not end on
    "the", "a", "an", "and", "or", "but", "nor", "of", "to", "in", "on", "at", "for", "with", "from", "by",
    "as", "that", "which", "who", "whose", "whom", "than", "then", "is", "are", "was", "were", "be", "been",
    "being", "has", "have", "had", "will", "would", "can", "could", "should", "may", "might", "must",
    "shall", "if", "because", "while", "when", "where", "although", "though", "unless", "until", "so",
    "such", "this", "these", "those", "their", "its", "our", "your", "my", "his", "her", "into", "onto",
    "about", "like", "via", "per", "including", "between", "among", "through", "during", "every", "another",
    "very", "he", "she", "they", "we"))
_FENCE = re.compile(r"^\s*(```|~~~)", re.M)
_BARE_ITEM = re.compile(r"\s*(?:\d{1,3}[.)]|[-*•+]|[a-zA-Z][.)]|#+)\s*")
_OPEN_LAST = frozenset(",:=([{")  # a text ending on these stops before what they open
_OPEN_TAIL = frozenset(f" {c}" for c in "-–—+*/x×")
_WORD = re.compile(r"[\w'’-]+")
# A period after a word of two or more characters ("D. Ice" and "2. Eggs" are item markers, not ends).
_SENTENCE_END = re.compile(r"(?:(?<=[a-z0-9)\]\"'”’][a-z0-9)\]\"'”’])\.|[!?…])[\"')\]”’]*(?:\s|$)")
_ITEM = re.compile(r"\s*(?:\d{1,3}[.)]|[-*•+])\s+\S")
_UNIT_IN = re.compile(r"\b(?:sq|cu|cubic|square)\.? in$", re.I)
_FORMULA = re.compile(r"[=+|<>{}\[\]^*/\\]|\s[-x]\s")
_ALPHA = re.compile(r"\b[a-z]+\b")
_LETTERS = re.compile(r"[a-z]+")
_TAIL_WORD = re.compile(r"[^\W\d_]+$")
_ATTRIBUTION = re.compile(r"[\"”]\s*[-–—~]+\s*[\w .,'’]{1,40}$|"
                          r"\s[-–—]\s*[A-Z][\w.'’]*(?: [A-Z][\w.'’]*){0,3}$")


def _last_line(text: str) -> str:
    return text[text.rfind("\n") + 1:]


def _prose_end(body: str, last: str, words: list[str], prose_words: int) -> bool:
    """The last line is a sentence left open where the rest of the response closes its sentences."""
    if words[-1][0] in "#@" or "=" in last or _ATTRIBUTION.search(last[-80:]):
        return False  # hashtags, handles, "- Author" attributions and "... = 42 apples" end without a period
    if body.count("\n    ") + body.count("\n\t") >= 2:
        return False  # code: its lines end on brackets and names
    cut = body.rfind("\n")
    before = [ln.strip() for ln in body[:cut].split("\n") if ln.strip()] if cut >= 0 else []
    if _ITEM.match(last):  # a list item: its siblings say whether items end on punctuation
        items = [ln for ln in before if _ITEM.match(ln)]
        return bool(items) and sum(ln[-1] in _END for ln in items) * 2 > len(items)
    if before and len(words) <= 3:  # a new paragraph that stops after its first words
        return before[-1][-1] in ".!?" and len(_WORD.findall(before[-1])) >= prose_words and \
            not last.istitle()
    if len(words) < 3:
        return False
    if _SENTENCE_END.search(last[: -len(words[-1])]):
        return True  # an earlier sentence of this line ended on punctuation, the last one did not
    if before:  # lines: most earlier lines end on punctuation (a list of bare items does not)
        closed = sum(ln[-1] in _END or ln[-1] == ":" for ln in before)
        return closed * 2 >= len(before) and (closed == len(before) or len(words) >= prose_words)
    return len(words) >= 3 * prose_words  # one line, too long to be a title


def _word_char(c: str) -> bool:
    return c.isalnum() or c == "_"  # what the regex ``\\w`` matches in a str


def _used_whole(w: str, text: str) -> bool:
    """``text`` holds ``w`` as a whole word (``\\b`` on both sides), found without a regex per word."""
    at = text.find(w)
    while at != -1:
        end = at + len(w)
        if (at == 0 or not _word_char(text[at - 1])) and (end == len(text) or not _word_char(text[end])):
            return True
        at = text.find(w, at + 1)
    return False


def _mid_word(body: str, last: str, words: list[str]) -> tuple[str, bool] | None:
    """The word the text may stop inside, and whether that is sure already (a lone letter) or is for
    the set's vocabulary to say (a fragment of a word the set uses); None when it stops after a word."""
    if len(words) < 3 or not body[-1].isalpha():
        return None
    tail = _TAIL_WORD.search(body[-40:]).group(0)  # type: ignore[union-attr]  # body ends on a letter
    start = len(body) - len(tail)
    if start > 0 and body[start - 1] not in " \t(\"'“‘":
        return None  # "file.doc", "snake_case", "a/b": not a word the text was writing
    if len(tail) == 1:  # formulas, chords, tables and "a, b, c" lists end on single letters
        sure = tail not in "aAI" and len(words[-2].strip(",;:")) > 1 and body[start - 2] != "," and \
            not _FORMULA.search(last)
        return (tail, True) if sure else None
    if not tail.isalpha():
        return None
    w = tail.lower()
    return None if _used_whole(w, body[: -len(w)].lower()) else (tail, False)  # it ends on a word it uses


def _split_reasons(text: str, prose_words: int) -> tuple[list[str], str | None, list[str]]:
    """The reasons ``text`` looks cut off that it shows alone, split where ``ends_mid_word`` goes, and
    the word whose being a fragment the set's vocabulary decides (see :func:`reasons`)."""
    body = text.rstrip()
    if not body:
        return [], None, []
    found = []
    if ("```" in body or "~~~" in body) and len(_FENCE.findall(body)) % 2:
        found.append("unclosed_fence")
    last = _last_line(body)[-TAIL_CHARS:].strip()
    if _BARE_ITEM.fullmatch(last) and "\n" in body:
        found.append("list_stops_at_number")
    if body[-1] in _END:
        return found, None, []
    words = last.split()  # whitespace tokens; the connector test strips their punctuation
    starts_line = "\n" in body and len(words) == 1  # a line (or paragraph) that stops at its first word
    connector = (len(words) >= 2 or starts_line) and words[-1].lower().strip("'’\"") in _CONNECTORS and \
        not _UNIT_IN.search(last[-12:])
    if body[-1] in _OPEN_LAST or body[-2:] in _OPEN_TAIL or connector:
        found.append("ends_with_connector")
    elif words and _prose_end(body, last, words, prose_words):
        found.append("ends_mid_sentence")
    fragment = None
    if "ends_with_connector" not in found:
        mid = _mid_word(body, last, words)
        if mid is not None and mid[1]:
            found.append("ends_mid_word")
        elif mid is not None:
            fragment = mid[0]
    after = ["unclosed_bracket"] if _unclosed(body) else []
    return found, fragment, after


def _unclosed(body: str) -> bool:
    """More ``(``, ``[``, ``{`` or ``“`` opened than closed (written out: a generator over the pairs
    cost a third of this check's time on responses that do not end on punctuation)."""
    return body.count("(") > body.count(")") or body.count("[") > body.count("]") or \
        body.count("{") > body.count("}") or body.count("“") > body.count("”")


def reasons(text: str, prose_words: int, vocabulary: _Vocabulary | None = None) -> list[str]:
    """Why ``text`` looks cut off (empty when it does not); without a ``vocabulary`` no
    ``ends_mid_word`` (neither the lone-letter nor the fragment rule)."""
    before, fragment, after = _split_reasons(text, prose_words)
    if vocabulary is None:
        return [r for r in before if r != "ends_mid_word"] + after
    return _joined(before, fragment, after, vocabulary)


def _joined(before: list[str], fragment: str | None, after: list[str], vocabulary: _Vocabulary) -> list[str]:
    """The reasons in order, ``ends_mid_word`` among them when the vocabulary calls ``fragment`` one."""
    return [*before, *(["ends_mid_word"] if fragment is not None and vocabulary.partial(fragment) else []),
            *after]


class _Vocabulary:
    """Lower-case words of the first ``rows`` responses, with counts (built on first use)."""

    def __init__(self, source: Rows, rows: int) -> None:
        self.source, self.rows = source, rows
        self.counts: Counter[str] | None = None
        self.words: list[str] = []

    def _build(self) -> Counter[str]:
        seen: Counter[str] = Counter()
        for text in self.source.responses[: self.rows]:
            seen.update(_LETTERS.findall(text.lower()))
        self.words = sorted(seen)
        return seen

    def partial(self, word: str) -> bool:
        """``word`` is no word of the set but begins a longer word seen twice (the row phase made
        sure it is no word of its own text)."""
        if self.counts is None:
            self.counts = self._build()
        w = word.lower()
        if w in self.counts:
            return False
        at = bisect.bisect_left(self.words, w)
        while at < len(self.words) and self.words[at].startswith(w):
            if self.counts[self.words[at]] >= 2:
                return True
            at += 1
        return False


def _token_counts(rows: Rows, positions: np.ndarray) -> np.ndarray:
    texts = [rows.responses[p] for p in positions.tolist()]
    counts = np.zeros(len(texts), dtype=np.int64)
    for lo in range(0, len(texts), 1024):
        ids = rows.tokenizer(texts[lo:lo + 1024], add_special_tokens=False)["input_ids"]
        counts[lo:lo + len(ids)] = [len(x) for x in ids]
    return counts


def _at_limit(rows: Rows, limits: list[int]) -> dict[int, int]:
    """Rows whose response is exactly one of ``limits`` tokens long and does not end cleanly."""
    if not callable(rows.tokenizer) or not limits:
        return {}
    lengths = np.fromiter(map(len, rows.responses), dtype=np.int64, count=len(rows))
    # A token is at least one character: shorter responses cannot reach the smallest limit.
    maybe = np.flatnonzero(lengths >= min(limits))
    maybe = np.array([p for p in maybe.tolist() if rows.responses[p].rstrip()[-1:] not in _END],
                     dtype=np.int64)
    if not len(maybe):
        return {}
    counts = _token_counts(rows, maybe)
    hit = np.isin(counts, limits)
    return dict(zip(maybe[hit].tolist(), counts[hit].tolist(), strict=True))


def _cut_off_rows(rows: Rows, params: Mapping[str, Any]) -> list[Hit]:
    """The row phase: what each response shows alone (run chunk by chunk in the scan workers)."""
    limits = _at_limit(rows, list(params["token_limits"]))
    hits = []
    for pos, text in enumerate(rows.responses):
        before, fragment, after = _split_reasons(text, params["prose_words"])
        if before or fragment or after or pos in limits:
            hits.append(Hit(pos, "", details={"before": before, "fragment": fragment, "after": after,
                                              "tokens": limits.get(pos), "tail": text.rstrip()[-60:]}))
    return hits


@audit_check("cut_off_response", severity="warning", scope="set", flagged_as="look cut off",
             row_phase=_cut_off_rows,
             params={"prose_words": 8, "vocabulary_rows": 5_000,
                     "token_limits": [128, 256, 512, 1024, 2048, 4096]})
def cut_off_response(rows: Rows, params: Mapping[str, Any]) -> list[Hit]:
    """Response that stops mid-sentence or mid-word, in an open code block, bracket or list."""
    vocabulary = _Vocabulary(rows, params["vocabulary_rows"])  # the set's part: is a fragment a word of it
    hits = []
    for row in rows.row_phase(_cut_off_rows, params):
        d = row.details
        why = _joined(d["before"], d["fragment"], d["after"], vocabulary)
        details: dict[str, Any] = {}
        if d["tokens"] is not None:
            why.append("at_token_limit")
            details["tokens"] = d["tokens"]
        if why:
            tail = d["tail"]
            hits.append(Hit(row.pos, f"the response looks cut off ({', '.join(why)}): ...{tail!r}",
                            details={"reasons": why, "tail": tail, **details}))
    return hits
