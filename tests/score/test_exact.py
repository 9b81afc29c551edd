from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.score.exact import Normalizer, exact_match, lcs_length, rouge_l, token_f1

PLAIN = Normalizer()


def lcs_table(a: list[str], b: list[str]) -> int:
    """The textbook O(n*m) table, as the reference for the bit-parallel version."""
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from("abcde"), max_size=40), st.lists(st.sampled_from("abcde"), max_size=40))
def test_bit_parallel_lcs_equals_the_table(a: list[str], b: list[str]) -> None:
    assert lcs_length(a, b) == lcs_table(a, b)


def test_exact_match_normalizes_whitespace_and_case_only_by_default() -> None:
    assert exact_match("  Hello\n  World ", "hello world", PLAIN) == 1.0
    assert exact_match("hello, world", "hello world", PLAIN) == 0.0
    assert exact_match("hello, world!", "Hello world", Normalizer(punctuation=True)) == 1.0


def test_answer_regex_extracts_from_output_and_keeps_plain_references() -> None:
    norm = Normalizer(answer_regex=r"answer is (\d+)")
    assert exact_match("I think the answer is 42.", "42", norm) == 1.0
    assert exact_match("The answer is 42", "The answer is 42", norm) == 1.0  # both extracted
    assert exact_match("42", "42", norm) == 0.0  # the output did not answer in the asked form
    whole = Normalizer(answer_regex=r"\d+")  # no group: the whole match
    assert exact_match("it is 7 apples", "7", whole) == 1.0


def test_token_f1_is_squad_style() -> None:
    assert token_f1("the cat sat", "the cat sat", PLAIN) == 1.0
    # overlap 2 of pred 3, gold 4 -> p=2/3 r=1/2 -> f1=4/7
    assert abs(token_f1("the cat ran", "the cat sat down", PLAIN) - 4 / 7) < 1e-12
    assert token_f1("", "", PLAIN) == 1.0
    assert token_f1("x", "", PLAIN) == 0.0
    assert token_f1("a a a", "a", PLAIN) == 0.5  # multiset overlap: 1 of 3 predicted


def test_rouge_l_uses_order() -> None:
    assert rouge_l("a b c d", "a b c d", PLAIN) == 1.0
    # same bag, reversed order: LCS 1 of 4
    assert abs(rouge_l("d c b a", "a b c d", PLAIN) - 0.25) < 1e-12
    assert token_f1("d c b a", "a b c d", PLAIN) == 1.0
    assert rouge_l("", "a", PLAIN) == 0.0
