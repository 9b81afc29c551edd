"""Training and generation ids of one conversation, and generation that records how each answer ended."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.data.labels import IGNORE
from harness.models.generation import cut_rows, generate_rows
from harness.models.loading import load_chat_tokenizer
from harness.models.template_ids import (
    answer_start,
    as_record,
    generation_prompt_text,
    render_generation_prompt,
    render_generation_prompt_ids,
    render_training_ids,
    training_render,
)
from harness.models.templates import CloneSpec

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "suites" / "demo" / "model"
QWEN = ROOT / "suites" / "chatml" / "qwen2.5-instruct.json"
CONVO = [{"role": "system", "content": "Answer in JSON."},
         {"role": "user", "content": "Tom was sad."}, {"role": "assistant", "content": '{"name": "Tom"}'},
         {"role": "user", "content": "Sue was calm."}, {"role": "assistant", "content": '{"name": "Sue"}'}]


@pytest.fixture(scope="module", params=["plain", "clone"])
def tok(request: pytest.FixtureRequest) -> Any:
    choice = None if request.param == "plain" else CloneSpec(QWEN)
    return load_chat_tokenizer(DEMO, choice).tokenizer


def test_generation_prompt_is_the_training_prefix_before_the_final_answer(tok: Any) -> None:
    lab = training_render(tok, CONVO)
    cut = answer_start(lab, as_record(CONVO))
    prompt = render_generation_prompt_ids(tok, CONVO)
    assert prompt == render_training_ids(tok, CONVO)[:cut] == lab.input_ids[:cut]
    # The first answer token is the first loss token of the final turn; the earlier turn's loss
    # lies inside the prompt (training taught it; generation is prompted with it).
    assert lab.labels[cut] != IGNORE and lab.labels[cut - 1] == IGNORE
    assert any(x != IGNORE for x in lab.labels[:cut])
    assert tok.decode(lab.input_ids[cut:]).lstrip().startswith('{"name": "Sue"}')


def test_prompt_text_leaves_the_final_answer_out(tok: Any) -> None:
    text = generation_prompt_text(tok, CONVO)
    assert "Sue was calm." in text and '{"name": "Sue"}' not in text and '{"name": "Tom"}' in text


def test_no_assistant_turn_means_the_whole_conversation_is_the_prompt(tok: Any) -> None:
    only = CONVO[:2]
    lab = training_render(tok, only)
    assert answer_start(lab, as_record(only)) == len(lab.input_ids)


def test_cut_rows_says_which_stop_ended_each_answer(tok: Any) -> None:
    words = tok("the cat", add_special_tokens=False)["input_ids"]
    rows = cut_rows(tok, [[*words, 2, 0], [*words, words[0]], [2]], [2])
    assert [(g.stop, g.new_tokens) for g in rows] == [(2, len(words)), (None, len(words) + 1), (2, 0)]
    assert rows[0].text == "the cat" and rows[2].text == ""


@pytest.mark.slow
def test_generate_rows_on_the_real_model() -> None:
    from harness.models.loading import load_base

    lm = load_base(DEMO, load_in_4bit=False)
    prompts = ["<s>Once upon a time", "<s>Tim and Sue"]
    greedy = generate_rows(lm.model, lm.tokenizer, prompts, max_new_tokens=6, stop_token_ids=[2])
    assert all(g.stop is None and g.new_tokens == 6 for g in greedy)  # stories run on past 6 tokens
    # A stop token the model writes at once: "." ends these sentences within a few tokens.
    dot = lm.tokenizer.convert_tokens_to_ids(".")
    stopped = generate_rows(lm.model, lm.tokenizer, prompts, max_new_tokens=40, stop_token_ids=[dot])
    assert all(g.stop == dot and g.new_tokens < 40 and "." not in g.text for g in stopped)


def test_render_generation_prompt_is_the_prompt_with_token_spans(tok: Any) -> None:
    rendered = render_generation_prompt(tok, CONVO)
    assert rendered.text == generation_prompt_text(tok, CONVO)
    assert rendered.ids == render_generation_prompt_ids(tok, CONVO)
    assert len(rendered.offsets) == len(rendered.ids)
    ends = [b for a, b in rendered.offsets if b > a]
    assert ends == sorted(ends) and ends[-1] == len(rendered.text)  # spans in order, up to the text's end
