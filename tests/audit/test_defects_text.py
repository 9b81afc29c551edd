"""Repetition, cut-off responses, refusals and bad characters: real rows, and real rows made defective."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.audit.checks import resolve
from harness.audit.defects.cutoff import reasons
from harness.audit.defects.gopher import line_stats, ngram_stats
from harness.audit.rows import CheckOutput, Rows
from harness.data.record import Record
from tests.audit.defects_support import flagged, rows_of, with_target


def long_answers(original: list[Record], n: int) -> list[Record]:
    return [r for r in original if len(r.response.split()) >= 60 and r.response.rstrip()[-1] in ".!?"
            and "=" not in r.response][:n]


def test_gopher_statistics_match_a_plain_python_reading() -> None:
    text = "the cat sat on the mat and the cat sat on the mat again today"
    stats = ngram_stats([text])
    # "the cat" and "cat sat" ... occur twice: the top 2-gram is "the cat" (7 chars) x 2 over 63 chars.
    assert stats["top_2gram_char_frac"][0] == pytest.approx(2 * len("the cat") / len(text))
    # The second "the cat sat on the mat" repeats the first: its six words count once.
    repeated = sum(len(w) for w in ["the", "cat", "sat", "on", "the", "mat"])
    assert stats["dup_5gram_char_frac"][0] == pytest.approx(repeated / len(text))
    lines = line_stats("a b c\nd e f\na b c\n\na b c")
    assert lines["dup_line_frac"] == pytest.approx(2 / 4)  # lines: abc, def, abc, abc
    assert lines["dup_para_frac"] == 0.0  # paragraphs: "abc def abc" and "abc" differ
    assert line_stats("x y\n\nx y\n\nz")["dup_para_frac"] == pytest.approx(1 / 3)


def test_repetition_on_the_original_alpaca_is_two_songs_with_a_chorus(rows: Rows) -> None:
    assert flagged("repetition", rows) == {974, 1248}


def test_repetition_finds_loops_planted_into_real_answers(original: list[Record]) -> None:
    base = long_answers(original, 4)
    last = base[0].response.rstrip().split(". ")[-1]
    planted = [with_target(base[0], base[0].response + (" " + last) * 5),  # a sentence looping
               with_target(base[1], base[1].response + " located in" * 12),  # a phrase at the end
               with_target(base[2], base[2].response + ("\nThis is the best answer." * 6)),  # a line
               base[3]]
    assert flagged("repetition", rows_of(planted)) == {0, 1, 2}


def test_repetition_limits_are_params(original: list[Record]) -> None:
    base = long_answers(original, 1)[0]
    looped = rows_of([with_target(base, base.response + " located in" * 12)])
    assert flagged("repetition", looped) == {0}
    high = {k: 10.0 for k in ("top_2gram_char_frac", "top_3gram_char_frac", "top_4gram_char_frac")}
    assert flagged("repetition", looped, loop_repeats=50, limits=high) == set()


def test_cut_off_finds_real_answers_cut_mid_sentence_or_mid_word(original: list[Record]) -> None:
    base = long_answers(original, 6)
    cuts = [base[0].response[: len(base[0].response) * 2 // 3].rsplit(" ", 1)[0],  # after a word
            base[1].response[: len(base[1].response) - 7],  # wherever it falls
            base[2].response.rstrip(".!?") + " and the",
            "Here are the steps:\n1. Mix the flour.\n2. Add water.\n3.",
            "```python\nprint('hi')\n",
            base[5].response]
    got = rows_of([with_target(b, c) for b, c in zip(base, cuts, strict=True)])
    assert flagged("cut_off_response", got) == {0, 1, 2, 3, 4}
    assert "list_stops_at_number" in reasons(cuts[3], 8)
    assert "unclosed_fence" in reasons(cuts[4], 8)


def test_cut_off_leaves_lists_poems_titles_and_math_answers(rows: Rows) -> None:
    # Real rows: bare list items, hashtags, "- Author" quotes, "= 42 apples": 3 flags in 2000 rows,
    # one of them (679, "... $1.6 trillion in 20") really cut off.
    found = flagged("cut_off_response", rows)
    assert 679 in found and len(found) <= 5


def test_refusal_counts_its_phrases(rows: Rows, original: list[Record]) -> None:
    assert flagged("refusal", rows) == {8}  # "... cannot be fulfilled by a GPT model"
    base = original[20]
    planted = rows_of([with_target(base, "As an AI language model, I do not have personal opinions."),
                       with_target(base, "I'm sorry, but I cannot help with that."),
                       with_target(base, "Dear John, I cannot wait to see you. " * 20 + "I cannot stay."),
                       with_target(base, "I'm sorry that you're not happy with your purchase.")])
    out = resolve("refusal")(planted)
    assert isinstance(out, CheckOutput)
    assert {h.pos for h in out.hits} == {0, 1}
    phrases = out.stats["phrases"]
    assert phrases["as an AI language model"] == 1 and phrases["I'm sorry, but"] == 1


def test_refusal_phrases_start_a_word_as_the_lookbehind_said() -> None:
    """The phrases are searched literal first, the character before tested by hand: the same rows as
    the patterns behind ``(?<![\\w'])``, on matches inside words, after apostrophes and overlapping."""
    import re

    from harness.audit.defects import refusals

    texts = ["As an AI language model, I can.", "has an ai model", "vas an ai model; as an ai model",
             "l'as an ai model", "_i am an ai", "é i am an ai", "ii am an ai model", "xi'm sorry, but no",
             "i'm sorry, but", "Unfortunately, I", "funfortunately, i", "a i cannot help", "ci cannot help",
             "3as a language model", "(as a language model)", "i apologise, but i apologize, but",
             "as an as an ai", "\u00e9as an ai", "as an  ai", ""]
    for text in texts:
        old = [name for name, rx in refusals._ANYWHERE if re.search(r"(?<![\w'])" + rx, text.lower())] + \
            [name for name, rx in refusals._OPENING if re.search(r"(?<![\w'])" + rx, text.lower()[:200])]
        assert refusals.phrases(text, 200) == old, text


def test_control_characters(rows: Rows, original: list[Record]) -> None:
    assert flagged("control_characters", rows) == set()
    base = original[30]
    planted = rows_of([with_target(base, base.response[:10] + c + base.response[10:])
                       for c in ("\x00", "\x1b", "\x7f", "\u0085", "\ufffd", "\t", "\r\n")])
    assert flagged("control_characters", planted) == {0, 1, 2, 3, 4}


def test_literal_escapes_in_prose_not_in_code_or_latex(rows: Rows, original: list[Record]) -> None:
    assert flagged("literal_escapes", rows) == set()  # 630 and 1398 hold LaTeX (\\frac, \\times)
    base = original[40]
    planted = rows_of([with_target(base, "Step one.\\nStep two.\\n3. Done"),
                       with_target(base, "Caf\\u00e9 is open."),
                       with_target(base, 'Use print("a\\nb") to print two lines;'),
                       with_target(base, "Since $x \\neq 0$ we divide.")])
    assert flagged("literal_escapes", planted) == {0, 1}


def test_mojibake(rows: Rows, original: list[Record]) -> None:
    assert flagged("mojibake", rows) == set()
    base = original[50]
    text = "It\u2019s a caf\u00e9 \u2014 20\u00b0C."
    planted = rows_of([with_target(base, text.encode("utf-8").decode("cp1252")),
                       with_target(base, text), with_target(base, "São Paulo and Ñandú")])
    assert flagged("mojibake", planted) == {0}


def test_cut_off_at_a_generator_token_limit_with_a_tokenizer(original: list[Record]) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(Path(__file__).resolve().parents[2] / "suites" / "demo" / "model")
    long = " ".join(r.response for r in original[:40])

    def tokens(s: str) -> int:
        return len(tok(s, add_special_tokens=False)["input_ids"])

    # The real text cut where it is exactly 128 tokens long, on a letter (no end punctuation).
    end = next(n for n in range(100, len(long)) if tokens(long[:n]) == 128 and long[n - 1].isalpha())
    text = long[:end]
    base = original[0]
    rows = Rows("train", [with_target(base, text), with_target(base, text + " and more words here")],
                tokenizer=tok)
    out = list(resolve("cut_off_response")(rows, {"token_limits": [128]}))
    assert [(h.pos, "at_token_limit" in h.details["reasons"]) for h in out if h.details.get("tokens")] == \
        [(0, True)]
