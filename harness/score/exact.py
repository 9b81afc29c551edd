"""Exact match, token F1 and ROUGE-L on generated text.

Normalization (the same for output and reference, in this order):

1. answer extraction, only when ``answer_regex`` is set: the first match in the
   text; its group 1 if the pattern has a group, else the whole match. An
   *output* with no match becomes ``""`` (wrong: the model did not answer in
   the asked form); a *reference* with no match is kept whole (so plain gold
   answers work with a pattern written for model outputs);
2. Unicode NFKC, lower case;
3. with ``punctuation=True``: every Unicode punctuation character becomes a space;
4. whitespace runs collapse to one space; leading and trailing space is dropped.

``exact_match`` is 1.0 when the normalized strings are equal. ``f1`` is the
SQuAD-style bag-of-tokens F1 over whitespace tokens of the normalized strings;
``rouge_l`` is the LCS F-measure (beta = 1) over the same tokens. Both are 1.0
when both sides are empty and 0.0 when only one is.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class Normalizer:
    """How outputs and references are normalized before comparison."""

    punctuation: bool = False
    answer_regex: str | None = None

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        return re.compile(self.answer_regex, re.DOTALL) if self.answer_regex else None

    def extract(self, text: str, *, is_reference: bool) -> str:
        if self._pattern is None:
            return text
        match = self._pattern.search(text)
        if match is None:
            return text if is_reference else ""
        return match.group(1) if self._pattern.groups else match.group(0)

    def normalize(self, text: str, *, is_reference: bool = False) -> str:
        text = unicodedata.normalize("NFKC", self.extract(text, is_reference=is_reference)).lower()
        if self.punctuation:
            text = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text)
        return " ".join(text.split())


def exact_match(output: str, reference: str, norm: Normalizer) -> float:
    return float(norm.normalize(output) == norm.normalize(reference, is_reference=True))


def token_f1(output: str, reference: str, norm: Normalizer) -> float:
    pred = norm.normalize(output).split()
    gold = norm.normalize(reference, is_reference=True).split()
    if not pred or not gold:
        return float(pred == gold)
    overlap = sum((Counter(pred) & Counter(gold)).values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(pred), overlap / len(gold)
    return 2 * precision * recall / (precision + recall)


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence, bit-parallel (Allison-Dix / Hyyrö).

    One machine-word-free big-int bit vector over ``a`` replaces the O(len(a) * len(b))
    table: each token of ``b`` costs a few big-int operations, so long texts stay fast.
    """
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, tok in enumerate(a):
        masks[tok] = masks.get(tok, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for tok in b:
        u = v & masks.get(tok, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - bin(v).count("1")


def rouge_l(output: str, reference: str, norm: Normalizer) -> float:
    pred = norm.normalize(output).split()
    gold = norm.normalize(reference, is_reference=True).split()
    if not pred or not gold:
        return float(pred == gold)
    lcs = lcs_length(pred, gold)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(pred), lcs / len(gold)
    return 2 * precision * recall / (precision + recall)


__all__ = ["Normalizer", "exact_match", "lcs_length", "rouge_l", "token_f1"]
