"""short_target judges a short answer by what the instruction asks for (real Alpaca rows)."""

from __future__ import annotations

from harness.audit.defects.instructions import expects_long_answer, opener_stub
from harness.audit.rows import Rows
from harness.data.record import Record
from tests.audit.defects_support import flagged, rows_of, with_prompt, with_target


def test_short_answers_to_classify_or_compute_instructions_are_not_flagged(original: list[Record]) -> None:
    # The old one-word rule warned on 115 of these 2000 rows ("Negative.", "6E", "2469."), all legitimate.
    short = [r for r in original if 0 < len(r.response.split()) <= 3]
    assert len(short) > 150
    assert len(flagged("short_target", Rows("train", original))) <= 20  # <= 1%; measured: 0


def test_short_answers_to_long_form_instructions_are_flagged(original: list[Record]) -> None:
    long_rows = [r for r in original if len(r.response.split()) > 40]  # keeps the set's median long
    cases = [("Write a short story about a dragon who learns to fly.", "Once"),
             ("Explain how photosynthesis works.", "Sunlight."),
             ("Name three countries in Europe.", "France"),
             ("Name three countries in Europe.", "France, Spain, Italy"),
             ("Identify the odd one out.\n\nTwitter, Instagram, Telegram", "Telegram"),
             ("Convert 94F to Celsius.", "34.4C"),
             ("Describe the color blue in one word.", "Calm"),
             ("How many legs does a spider have?", "Eight."),
             ("A bakery sold 12 cakes and 30 pies. How many items were sold in all?", "The"),
             ("Identify the article in the sentence.\n\nThe cat sat.", "The")]
    rows = rows_of([*long_rows[:60], *(with_target(with_prompt(long_rows[0], p), t) for p, t in cases)])
    got = {i - 60 for i in flagged("short_target", rows)}
    assert got == {0, 1, 2, 8}


def test_what_the_instruction_asks_for() -> None:
    assert expects_long_answer("Generate a list of five healthy snacks.") is not None
    assert expects_long_answer("Generate a creative name for a bakery.") is None
    assert expects_long_answer("Why is the sky blue?") is not None
    assert expects_long_answer("Answer yes or no: is water wet? Explain.") is None
    assert opener_stub("Levi's", "How many points did Levi score?")
    assert not opener_stub("Jupiter", "Name a planet.")
