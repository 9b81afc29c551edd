"""``harness.data.labels``: the shared assistant-only labels, batched and per record.

What changed there for this audit (and must stay): the first answer word is
trained even when the tokenizer glues the template's separator to it; turn ends
are trained on templates that close the conversation differently from a turn
(Phi-3) or rewrite history (Qwen3); ``label_records`` equals ``label_record``.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_templates_support import MISTRAL, PHI3, chat, family_tokenizer, load, pairs, record, template_config

from harness.data.labels import IGNORE, RenderError, assistant_spans, label_record, label_records, render_many
from harness.data.record import ASSISTANT, SYSTEM, USER


def trained(lab: Any) -> list[str]:
    """The text of each run of characters covered by loss-carrying tokens (tokens may share chars)."""
    covered = [False] * len(lab.text)
    for label, (s, e) in zip(lab.labels, lab.offsets, strict=True):
        if label != IGNORE:
            covered[s:e] = [True] * (e - s)
    runs: list[str] = []
    for k, ch in enumerate(lab.text):
        if covered[k]:
            if k == 0 or not covered[k - 1]:
                runs.append("")
            runs[-1] += ch
    return runs


def test_demo_first_answer_word_is_trained(demo_model_path: Any) -> None:
    tok = load(demo_model_path)
    lab = label_record(tok, chat("Who is Lily?", "Lily is a girl."))
    assert lab.text == "<s>User: Who is Lily?\nAssistant: Lily is a girl.</s>\n"
    assert trained(lab) == [" Lily is a girl.</s>\n"]  # "▁Lily": the space is the answer's
    assert lab.spans == [(lab.text.index(" Lily is"), len(lab.text))]


def test_phi3_every_turn_trains_its_end_token() -> None:
    convo = record((USER, "Q1"), (ASSISTANT, "A one."), (USER, "Q2"), (ASSISTANT, "A two."))
    lab = label_record(load(PHI3), convo)
    assert trained(lab) == ["A one.<|end|>\n", "A two.<|end|>\n<|endoftext|>"]


def test_mistral_multi_turn() -> None:
    convo = record((USER, "Q1"), (ASSISTANT, "A1"), (USER, "Q2"), (ASSISTANT, "A2"))
    lab = label_record(load(MISTRAL), convo)
    assert trained(lab) == ["A1</s>", "A2</s>"]
    assert lab.input_ids.count(1) == 1 and lab.input_ids[0] == 1  # the template's BOS, not a second one


def test_qwen3_history_turns_keep_their_end() -> None:
    tok = family_tokenizer(template_config("qwen3"))
    lab = label_record(tok, record((USER, "Q1"), (ASSISTANT, "A1"), (USER, "Q2"), (ASSISTANT, "A2")))
    runs = trained(lab)
    assert runs[0] == "A1<|im_end|>\n"  # not prefix-stable: located, then extended over the turn end
    assert runs[1].endswith("A2<|im_end|>\n") and "<think>" in runs[1]


def test_answer_text_in_the_prompt_is_not_labeled_there() -> None:
    """A short answer that also occurs in the question must be labeled where the answer is."""
    tok = family_tokenizer(template_config("qwen3"))
    lab = label_record(tok, record((USER, "Say yes"), (ASSISTANT, "yes"), (USER, "Again"), (ASSISTANT, "ok")))
    text, spans = assistant_spans(tok, record((USER, "Say yes"), (ASSISTANT, "yes"), (USER, "Again"),
                                              (ASSISTANT, "ok")))
    assert text.index("Say yes") < spans[0][0]
    assert trained(lab)[0].startswith("yes")


def test_batched_equals_per_record() -> None:
    tok = load(PHI3)
    recs = [chat(q, a, index=i) for i, (q, a) in enumerate(pairs()[:20])]
    recs.append(record((USER, "a"), (ASSISTANT, "b"), (USER, "c"), (ASSISTANT, "d"), index=20))
    recs.append(record(("text", "plain text, loss everywhere"), index=21))
    batched = label_records(tok, recs, max_len=64)
    assert batched == [label_record(tok, r, max_len=64) for r in recs]
    assert batched[21].labels == batched[21].input_ids  # type: ignore[union-attr]


def test_refused_record_gets_its_error_in_its_slot() -> None:
    tok = load(MISTRAL)
    recs = [chat("Q", "A"), chat("Q", "A", system="Be brief.")]
    out = label_records(tok, recs)
    assert not isinstance(out[0], RenderError) and isinstance(out[1], RenderError)
    assert "alternate" in str(out[1])
    with pytest.raises(RenderError):
        label_record(tok, recs[1])


def test_render_many_isolates_refusals() -> None:
    tok = load(MISTRAL)
    convos = [[{"role": USER, "content": "hi"}], [{"role": SYSTEM, "content": "x"}],
              [{"role": USER, "content": "a"}, {"role": ASSISTANT, "content": "b"}]]
    out = render_many(tok, convos)
    assert out[0] == "<s>[INST] hi [/INST]" and isinstance(out[1], RenderError)
    assert out[2] == "<s>[INST] a [/INST]b</s>"


def test_truncation_fields() -> None:
    tok = load(PHI3)
    lab = label_record(tok, chat("Q", "word " * 200), max_len=32)
    assert lab.truncated and lab.full_length > 32 and len(lab.input_ids) == len(lab.labels) == 32
    assert len(lab.offsets) == 32 and lab.prompt_tokens < 32
