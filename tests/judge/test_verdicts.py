"""Verdict parsing: chatter is tolerated, and anything doubtful is unparseable, never a score."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.judge.rubrics import load_rubric
from harness.judge.verdicts import parse_pairwise, parse_pointwise

HELPFUL = load_rubric("helpfulness")
REVIEW = load_rubric("review")


@pytest.mark.parametrize(("text", "score"), [
    ("Rating: [[4]]", 4.0),
    ("The answer is decent but misses the second tip.\n\nRating: [[3]]\n", 3.0),
    ("**Rating:** [[5]] — excellent.", 5.0),
    ("[[ 2 ]]", 2.0),
    ("I'd give it [[4/5]].", 4.0),
    ("Rating: 4", 4.0),
    ('{"reason": "fine", "score": 5}', 5.0),
    ("Score: 3 out of 5", 3.0),
    ("Reasonable answer.\n4", 4.0),
    ("Rating: [[4.5]]", 4.5),
])
def test_scores_are_found_in_chatter(text: str, score: float) -> None:
    parsed = parse_pointwise(text, HELPFUL)
    assert parsed.ok and parsed.score == score, parsed


@pytest.mark.parametrize(("text", "reason"), [
    ("", "empty answer"),
    ("I think the response is quite good overall.", "no rating"),
    ("Rating: [[7]]", "outside the scale"),
    ("Rating: [[0]]", "outside the scale"),
    ("First I thought [[2]], but on reflection [[4]].", "ambiguous"),
    ("Rating: 8/10", "not on the 1..5 scale"),
    ("Rating: [[N]]", "no rating"),
    ("The answer lists 3 tips.\nIt has 12 words.\nGood", "no rating"),
])
def test_doubtful_answers_are_unparseable_with_a_reason(text: str, reason: str) -> None:
    parsed = parse_pointwise(text, HELPFUL)
    assert not parsed.ok and parsed.score is None and reason in parsed.reason, parsed


def test_bracketed_verdict_beats_stray_numbers() -> None:
    text = "Scoring 1 for style would be unfair; the score: 2 I first wrote was wrong.\nRating: [[5]]"
    assert parse_pointwise(text, HELPFUL).score == 5.0


@pytest.mark.parametrize(("text", "score"), [
    ("The output is a placeholder.\n[[WRONG]]", 0.0),
    ("Looks right. [[correct]]", 1.0),
    ("Verdict: WRONG", 0.0),
    ("The arithmetic checks out.\n**CORRECT**", 1.0),
])
def test_labels_map_to_their_scores(text: str, score: float) -> None:
    parsed = parse_pointwise(text, REVIEW)
    assert parsed.ok and parsed.score == score


def test_label_verdicts_that_disagree_are_ambiguous() -> None:
    parsed = parse_pointwise("[[CORRECT]] at first sight, but really [[WRONG]]", REVIEW)
    assert not parsed.ok and "ambiguous" in parsed.reason
    assert not parse_pointwise("It is fine I guess", REVIEW).ok


@pytest.mark.parametrize(("text", "choice"), [
    ("Assistant A is more complete.\n[[A]]", "A"),
    ("B follows the format.\n\n[[B]]", "B"),
    ("Both are equally good. [[C]]", "C"),
    ("[[tie]]", "C"),
    ("Verdict: B", "B"),
    ("Both fine.\nA", "A"),
])
def test_pairwise_choices(text: str, choice: str) -> None:
    parsed = parse_pairwise(text)
    assert parsed.ok and parsed.choice == choice


@pytest.mark.parametrize("text", ["", "Both have merits.", "[[A]] or maybe [[B]]", "[[D]]"])
def test_pairwise_doubt_is_unparseable(text: str) -> None:
    parsed = parse_pairwise(text)
    assert not parsed.ok and parsed.choice is None


chatter = st.text(alphabet=st.characters(blacklist_characters="[]0123456789", blacklist_categories=("Cs",)),
                  max_size=200)


@settings(max_examples=200, deadline=None)
@given(before=chatter, score=st.integers(1, 5))
def test_any_chatter_before_the_verdict_keeps_the_score(before: str, score: int) -> None:
    parsed = parse_pointwise(f"{before}\nRating: [[{score}]]", HELPFUL)
    assert parsed.ok and parsed.score == score


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_characters="0123456789", blacklist_categories=("Cs",)),
                    max_size=300))
def test_text_without_digits_never_becomes_a_score(text: str) -> None:
    parsed = parse_pointwise(text, HELPFUL)
    assert not parsed.ok and parsed.score is None
