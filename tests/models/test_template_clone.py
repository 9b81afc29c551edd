"""Cloning a real chat template onto the shipped stories260k tokenizer and model (trl-style)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.models.loading import load_base, load_chat_tokenizer
from harness.models.template_clone import CloneSourceError, read_clone_source
from harness.models.template_ids import render_generation_prompt_ids, render_training_ids
from harness.models.templates import CloneSpec

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "suites" / "demo" / "model"
QWEN = ROOT / "suites" / "chatml" / "qwen2.5-instruct.json"
TEMPLATES = ROOT / "tests" / "fixtures" / "templates" / "chat_templates"
PHI3_DIR = ROOT / "tests" / "fixtures" / "templates" / "phi-3-mini"
SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
CONVO = [{"role": "user", "content": "Give the name and mood as JSON.\n\nMia was happy."},
         {"role": "assistant", "content": '{"name": "Mia", "mood": "happy"}'}]


@pytest.fixture(scope="module")
def qwen() -> Any:
    return load_chat_tokenizer(DEMO, CloneSpec(QWEN))


def test_clone_adds_the_source_tokens_and_pads_to_a_multiple(qwen: Any) -> None:
    clone, tok = qwen.clone, qwen.tokenizer
    assert qwen.source == f"clone of {QWEN}" and tok.chat_template == read_clone_source(QWEN).chat_template
    # stories260k has 512 ids; Qwen2.5 ships 22 added tokens, none of which it has.
    assert clone.first_new_id == 512 and len(clone.added) == 22
    assert clone.added == tuple(range(512, 534)) and clone.added_tokens[1:3] == ("<|im_start|>", "<|im_end|>")
    assert len(tok) == clone.rows == 576 and clone.padding == tuple(range(534, 576))
    # Special flags come from the source: <|im_end|> is special, <tool_call> is not.
    assert tok.added_tokens_decoder[514].special and not tok.added_tokens_decoder[526].special
    assert tok.eos_token == "<|im_end|>" and tok.eos_token_id == clone.end_of_turn_id == 514
    assert tok.pad_token == "<unk>"  # the base's own pad fallback is kept


def test_cloned_template_renders_the_default_system_prompt(qwen: Any) -> None:
    text = qwen.tokenizer.apply_chat_template(CONVO[:1], tokenize=False, add_generation_prompt=True)
    assert text == (f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{CONVO[0]['content']}"
                    "<|im_end|>\n<|im_start|>assistant\n")
    ids = render_generation_prompt_ids(qwen.tokenizer, CONVO)
    assert ids[:2] == [1, 513]  # the base's BOS (the template writes none), then one <|im_start|> id
    assert ids.count(514) == 2  # <|im_end|> after the system and the user turn, one id each


@pytest.mark.parametrize(("source", "end"), [
    ("qwen2.5-instruct.json", "<|im_end|>"),
    ("phi-3-mini-instruct.json", "<|end|>"),  # its EOS is <|endoftext|>: not what ends a turn
    ("llama-3-8b-instruct.json", "<|eot_id|>"),  # its EOS is <|end_of_text|>
    ("gemma-2-it.json", "<end_of_turn>"),
    ("mistral-7b-instruct-v0.2.json", "</s>"),  # writes eos_token itself: the base's </s>
])
def test_end_of_turn_is_what_the_template_writes_after_a_turn(source: str, end: str) -> None:
    loaded = load_chat_tokenizer(DEMO, CloneSpec(TEMPLATES / source))
    assert loaded.clone.end_of_turn == end and loaded.tokenizer.eos_token == end
    assert len(loaded.tokenizer) % 64 == 0


def test_folder_sources_and_saved_tokenizers(qwen: Any, tmp_path: Path) -> None:
    phi = read_clone_source(PHI3_DIR)
    assert "<|end|>" in {t.content for t in phi.tokens} and "<|assistant|>" in phi.chat_template
    # transformers 5 saves the template beside the config (chat_template.jinja): read it there.
    qwen.tokenizer.save_pretrained(tmp_path / "saved")
    again = read_clone_source(tmp_path / "saved")
    assert again.chat_template == qwen.tokenizer.chat_template and again.eos_token == "<|im_end|>"
    chatml = [t.content for t in again.tokens if t.content.startswith("<|im_")]
    assert chatml == ["<|im_start|>", "<|im_end|>"]


def test_bad_sources_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(CloneSourceError, match="no such tokenizer folder"):
        read_clone_source(tmp_path / "nope")
    bare = tmp_path / "tokenizer_config.json"
    bare.write_text(json.dumps({"eos_token": "</s>"}))
    with pytest.raises(CloneSourceError, match="holds no chat_template"):
        read_clone_source(bare)
    bare.write_text("{not json")
    with pytest.raises(CloneSourceError, match="not a readable JSON file"):
        read_clone_source(bare)


def test_multiple_of_none_keeps_the_exact_size() -> None:
    loaded = load_chat_tokenizer(DEMO, CloneSpec(QWEN, resize_to_multiple_of=None))
    assert len(loaded.tokenizer) == 534 and loaded.clone.padding == ()


@pytest.mark.slow
def test_base_is_resized_deterministically_and_ids_match_without_the_model(qwen: Any) -> None:
    """The scorer's model-free tokenizer, training's and a second load agree; new rows = old mean."""
    first = load_base(DEMO, load_in_4bit=True, chat_template=CloneSpec(QWEN))
    second = load_base(DEMO, load_in_4bit=True, chat_template=CloneSpec(QWEN))
    emb = first.model.get_input_embeddings().weight
    assert emb.shape[0] == len(first.tokenizer) == 576
    assert (emb[512:] - emb[:512].mean(0)).abs().max().item() < 1e-6
    assert (emb - second.model.get_input_embeddings().weight).abs().max().item() == 0.0
    assert first.model.get_output_embeddings().weight.shape[0] == 576  # tied head follows
    assert first.stop_token_ids == [514] and first.model.generation_config.eos_token_id == 514
    assert first.clone == qwen.clone
    for tok in (first.tokenizer, second.tokenizer):
        assert render_training_ids(tok, CONVO) == render_training_ids(qwen.tokenizer, CONVO)
        assert render_generation_prompt_ids(tok, CONVO) == render_generation_prompt_ids(qwen.tokenizer, CONVO)


def test_clone_source_copy_is_the_shared_file() -> None:
    """The suite ships a byte-identical copy of the real template file (see suites/chatml/SOURCES.md)."""
    shared = TEMPLATES / "qwen2.5-instruct.json"
    assert QWEN.read_bytes() == shared.read_bytes() and QWEN.stat().st_size == 7305
