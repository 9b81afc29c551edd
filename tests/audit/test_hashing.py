"""Vectorized gram hashing equals its scalar reference, on real and generated text."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.audit.hashing import GramBatch, gram_hash64
from harness.audit.normalize import exact_form, exact_key, exact_keys, word_form, word_stream


def reference(forms: list[str], n: int, short_whole: bool) -> list[tuple[int, int]]:
    out = []
    for doc, form in enumerate(forms):
        words = form.split(" ") if form else []
        if 0 < len(words) < n and short_whole:
            out.append((gram_hash64(form.encode()), doc))
        for i in range(len(words) - n + 1):
            out.append((gram_hash64(" ".join(words[i:i + n]).encode()), doc))
    return out


def test_grams_match_scalar_reference_on_real_text(alpaca_pairs: list[tuple[str, str]]) -> None:
    forms = [word_form(exact_form(p + "\n" + r)) for p, r in alpaca_pairs[:40]] + ["", "one two"]
    batch = GramBatch.build(forms)
    for n, short in ((5, True), (13, False), (1, False)):
        hashes, docs = batch.grams(n, short_whole=short)
        assert list(zip(hashes.tolist(), docs.tolist(), strict=True)) == reference(forms, n, short)
    assert batch.word_counts.tolist() == [len(f.split()) for f in forms]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=60), min_size=1, max_size=6),
       st.integers(1, 6))
def test_grams_match_reference_on_any_unicode(texts: list[str], n: int) -> None:
    forms = [word_form(exact_form(t)) for t in texts]
    hashes, docs = GramBatch.build(forms).grams(n, short_whole=True)
    assert list(zip(hashes.tolist(), docs.tolist(), strict=True)) == reference(forms, n, True)


def test_whole_hash_is_the_whole_word_form() -> None:
    forms = ["the cat sat", "", "x"]
    whole = GramBatch.build(forms).whole()
    assert whole.tolist() == [gram_hash64(b"the cat sat"), 0, gram_hash64(b"x")]


def test_word_form_strips_punctuation_and_case_like_gpt3() -> None:
    assert word_form(exact_form("Hello, WORLD!  It's  3.5\tok")) == "hello world it s 3 5 ok"
    assert word_form(exact_form("Ｆｕｌｌｗｉｄｔｈ — déjà vu")) == "fullwidth déjà vu"  # NFKC, unicode \w


def test_exact_form_keeps_punctuation_and_keys_differ() -> None:
    assert exact_form("  A  b\n\tC. ") == "a b c."
    texts = ["A b c.", "a  B c.\n", "a b c", "", " \t ", "Ａ b c.", "a\x00b", "a\x1cb", "naïve  Café"]
    keys = exact_keys(texts).tolist()
    assert keys == [exact_key(t) for t in texts]
    assert keys[0] == keys[1] == keys[5] != keys[2]
    assert keys[3] == keys[4] == 0
    assert keys[7] == exact_key("a b") != keys[6]  # \x1c is whitespace to str.split(), NUL is not
    assert keys[8] == exact_key("NAÏVE CAFÉ")


def test_grams_never_cross_texts() -> None:
    hashes, docs = GramBatch.build(["a b", "c d"]).grams(3)
    assert len(hashes) == 0 and len(docs) == 0
    h, d = GramBatch.build(["a b c", "d e f g"]).grams(3)
    assert d.tolist() == [0, 1, 1]
    assert np.all(h != 0)


def test_chunk_word_stream_equals_per_text(alpaca_pairs: list[tuple[str, str]]) -> None:
    texts = [p + "\n" + r for p, r in alpaca_pairs[:30]]
    texts += ["Ünïcode, NFKC: ﬁne ＡＢＣ", "with\x00nul inside", "", "MiXeD ascii. \t tabs"]
    batch = GramBatch.from_bytes(word_stream(texts), len(texts))
    per_text = GramBatch.build([word_form(t) for t in texts])
    for n in (1, 5, 13):
        assert np.array_equal(batch.grams(n, short_whole=True)[0], per_text.grams(n, short_whole=True)[0])
    assert batch.word_counts.tolist() == [len(word_form(t).split()) for t in texts]
    assert word_form("with\x00nul inside") == "with nul inside"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=40), min_size=1, max_size=6))
def test_chunk_streams_tokenize_as_the_per_text_forms_on_any_unicode(texts: list[str]) -> None:
    """The word stream blanks non-ASCII non-word characters one by one instead of a regex pass per
    text: the same tokens, on any text (combining marks, NBSP, ß, ﬁ, digits that are no letters, NUL)."""
    texts = [*texts, "Straße ﬁne\u00a0x\u2028y\u0307z’s “q” ＡＢ_c\x00d ٣٤ Ⅻ ½"]
    words = GramBatch.from_bytes(word_stream(texts), len(texts))
    per_text = GramBatch.build([word_form(t) for t in texts])
    assert np.array_equal(words.grams(1)[0], per_text.grams(1)[0])
    assert words.word_counts.tolist() == per_text.word_counts.tolist()
    assert exact_keys(texts).tolist() == [exact_key(t) for t in texts]
