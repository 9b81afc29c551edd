"""Training-vs-generation and training-vs-export parity on real tokenizers, with planted breaks.

Every planted break must be found on every item it affects; the real templates, rendered the
way the harness renders them, must give no finding.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_templates_support import MISTRAL, PHI3, SPACE_IN_PROMPT, chat, load, pairs

from harness.audit import AuditParams, run_audit
from harness.audit.export_parity import export_parity
from harness.audit.template_parity import (
    END_CHECK,
    HEADER_CHECK,
    PROMPT_CHECK,
    first_difference,
    generation_parity,
    stop_stats,
)
from harness.data.record import Record
from harness.models.loading import load_chat_tokenizer
from harness.models.templates import PLAIN_TEMPLATE, CloneSpec

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "suites" / "demo" / "model"
QWEN = ROOT / "suites" / "chatml" / "qwen2.5-instruct.json"
GEN_PROMPT = "{{- '<|im_start|>assistant\\n' }}"


def qwen() -> Any:
    return load_chat_tokenizer(DEMO, CloneSpec(QWEN)).tokenizer


@pytest.fixture(scope="module")
def records() -> list[Record]:
    return [chat(q, a, index=i) for i, (q, a) in enumerate(pairs()[:24])]


def planted(template_edit: tuple[str, str]) -> Any:
    tok = qwen()
    old, new = template_edit
    assert old in tok.chat_template
    tok.chat_template = tok.chat_template.replace(old, new)
    return tok


@pytest.mark.parametrize("name", ["qwen-clone", "phi-3", "mistral"])
def test_matching_templates_have_no_finding(name: str, records: list[Record]) -> None:
    tok = {"qwen-clone": qwen, "phi-3": lambda: load(PHI3), "mistral": lambda: load(MISTRAL)}[name]()
    eot = tok.convert_tokens_to_ids({"phi-3": "<|end|>"}.get(name, tok.eos_token))
    run = generation_parity(tok, records, stop_token_ids=[eot, tok.eos_token_id])
    assert run.compared == len(records) and run.findings == []
    assert [c.check for c in run.checks] == [PROMPT_CHECK, HEADER_CHECK, END_CHECK]


def test_plain_template_prompts_as_it_trains(records: list[Record]) -> None:
    """The plain template's generation prompt ends at "Assistant:" and the space is the answer's:
    every conversation, word-initial answers included, is prompted with training's exact ids."""
    tok = load_chat_tokenizer(DEMO).tokenizer
    assert tok.chat_template == PLAIN_TEMPLATE
    run = generation_parity(tok, records, stop_token_ids=[2])
    assert run.compared == len(records) and run.findings == []
    json_answers = [chat("Tom was sad.", '{"name": "Tom", "mood": "sad"}', index=i) for i in range(3)]
    assert generation_parity(tok, json_answers, stop_token_ids=[2]).findings == []


def test_plain_template_seam_is_found_where_the_answer_glues_to_the_space(records: list[Record]) -> None:
    """A generation prompt that ends with the space ("Assistant: "), as the plain template once
    did: SentencePiece glues that space to a word-initial answer in training ("▁The"), so the
    prompt ends with a lone "▁" the model never saw there. Answers that do not glue ("1.", "{",
    emoji bytes) are not flagged."""
    tok = load_chat_tokenizer(DEMO).tokenizer
    tok.chat_template = SPACE_IN_PROMPT
    run = generation_parity(tok, records, stop_token_ids=[2])
    flagged = {f.refs[0].index for f in run.findings}

    def glues(answer: str) -> bool:
        pieces = tok.convert_ids_to_tokens(tok(" " + answer, add_special_tokens=False)["input_ids"])
        return pieces[1] != "▁"  # the space merged into the first word's piece

    assert flagged == {r.index for r in records if glues(r.response)}
    assert 0 < len(flagged) < len(records)
    assert all(f.details["prompt"]["token"] == "▁" for f in run.findings)


def test_generation_prompt_with_an_extra_space_is_found_on_every_item(records: list[Record]) -> None:
    tok = planted((GEN_PROMPT, "{{- '<|im_start|>assistant\\n ' }}"))
    run = generation_parity(tok, records, stop_token_ids=[tok.eos_token_id])
    assert len(run.findings) == len(records) and {f.check for f in run.findings} == {PROMPT_CHECK}
    first = run.findings[0]
    assert first.severity == "error" and first.refs[0].index == 0
    # The prompt has one token more than training before the answer, right where the answer starts.
    d = first.details
    assert d["position"] == d["training_prompt_tokens"] == d["prompt_tokens"] - 1
    assert d["prompt"]["token"] == "▁" and d["training"]["text"] == "<end>"


def test_missing_generation_prompt_is_found(records: list[Record]) -> None:
    """Without a generation prompt the labels put the assistant header into the answer's loss:
    prompt and training prefix agree, but the model is trained to write the header itself."""
    tok = planted((GEN_PROMPT, ""))
    run = generation_parity(tok, records, stop_token_ids=[tok.eos_token_id])
    assert [f.check for f in run.findings] == [HEADER_CHECK]
    assert len(run.findings[0].refs) == len(records) and run.findings[0].details["markup"] == "<|im_start|>"


def test_default_system_prompt_dropped_from_generation_only_is_found(records: list[Record]) -> None:
    default = ("{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. "
               "You are a helpful assistant.<|im_end|>\\n' }}")
    tok = planted((default, "{%- if not add_generation_prompt %}" + default + "{%- endif %}"))
    run = generation_parity(tok, records, stop_token_ids=[tok.eos_token_id])
    assert len(run.findings) == len(records)
    assert run.findings[0].details["position"] == 2  # after BOS and <|im_start|>: "user" vs "system"


def test_scorer_prompts_are_checked_as_given(records: list[Record]) -> None:
    """A scorer that doubles BOS (or renders otherwise) is caught on its own strings."""
    tok = qwen()
    run = generation_parity(tok, records[:1], stop_token_ids=[tok.eos_token_id])
    assert run.findings == []
    text = tok.apply_chat_template(records[0].messages[:1], tokenize=False, add_generation_prompt=True)
    doubled = generation_parity(tok, records[:1], stop_token_ids=[tok.eos_token_id],
                                prompts={0: "<s><s>" + text})
    assert [f.details["position"] for f in doubled.findings] == [1]


def test_end_of_turn_that_is_not_a_stop_token_is_found(records: list[Record]) -> None:
    tok = qwen()
    run = generation_parity(tok, records[:2], stop_token_ids=[2])  # the base's </s>, not <|im_end|>
    assert [f.check for f in run.findings] == [END_CHECK]
    assert run.findings[0].details["end_of_turn"] == "<|im_end|>"


def test_examples_show_training_and_prompt_tokens(records: list[Record]) -> None:
    tok = qwen()
    run = generation_parity(tok, records[:3], stop_token_ids=[tok.eos_token_id])
    train, prompt = run.examples
    assert (train.kind, prompt.kind) == ("training", "generation_prompt")
    cut = train.answer_start
    assert cut is not None and [c.id for c in train.tokens[:cut]] == [c.id for c in prompt.tokens]
    assert train.tokens[cut].loss and not any(c.loss for c in prompt.tokens)
    assert train.tokens[1].text == "<|im_start|>" and train.tokens[1].special


def test_stop_stats_count_how_answers_ended() -> None:
    gens = {"a": {"stop": 514}, "b": {"stop": 2}, "c": {"stop": None}, "d": {"stop": 514}}
    s = stop_stats("m", gens, end_of_turn_id=514, max_new_tokens=40)
    assert (s.items, s.stopped, s.end_of_turn, s.unterminated) == (4, 3, 2, 1)
    assert s.stop_rate == 0.75 and s.end_of_turn_rate == 0.5


def test_first_difference() -> None:
    assert first_difference([1, 2, 3], [1, 2, 3]) is None
    assert first_difference([1, 2, 3], [1, 5, 3]) == 1
    assert first_difference([1, 2], [1, 2, 3]) == 2


def test_audit_runs_the_parity_checks_on_the_eval_split(records: list[Record]) -> None:
    tok = planted((GEN_PROMPT, "{{- '<|im_start|>assistant\\n ' }}"))
    result = run_audit(records[:12], records[12:], tokenizer=tok, params=AuditParams(), progress=False)
    ran = {c.check: c for c in result.checks}
    assert ran[PROMPT_CHECK].findings == 12 and ran[END_CHECK].findings == 0
    assert {r.split for f in result.findings if f.check == PROMPT_CHECK for r in f.refs} == {"eval"}
    clean = run_audit(records[:12], records[12:], tokenizer=qwen(), params=AuditParams(), progress=False)
    assert clean.count(check=PROMPT_CHECK) == 0
    without = run_audit(records[:12], None, tokenizer=qwen(), params=AuditParams(), progress=False)
    assert {c.check: c.params.get("skipped") for c in without.checks}[PROMPT_CHECK] == "no eval set"


def exported(tmp_path: Path, eos: list[int] | None = None) -> tuple[Any, Path]:
    """A tokenizer saved as `harness export` saves it, with a generation config."""
    tok = qwen()
    folder = tmp_path / "export"
    tok.save_pretrained(folder)
    config = {"eos_token_id": eos or [514], "pad_token_id": 0}
    (folder / "generation_config.json").write_text(json.dumps(config))
    return tok, folder


def test_export_with_the_training_tokenizer_matches(tmp_path: Path, records: list[Record]) -> None:
    tok, folder = exported(tmp_path)
    result = export_parity(tok, folder, records, stop_token_ids=[514])
    assert result.ok and result.compared == len(records), result.summary()
    assert "24 eval prompts render to the same ids" in result.summary()


def test_export_generation_config_without_the_end_of_turn_fails(tmp_path: Path,
                                                                 records: list[Record]) -> None:
    tok, folder = exported(tmp_path, eos=[2])
    result = export_parity(tok, folder, records, stop_token_ids=[514])
    assert [f.check for f in result.findings] == ["export_generation_config"]
    assert "lacks stop token(s) [514]" in result.summary()
    (folder / "generation_config.json").unlink()
    assert [f.check for f in export_parity(tok, folder, records, stop_token_ids=[514]).findings] == [
        "export_generation_config"]


def test_export_with_another_template_or_eos_fails(tmp_path: Path, records: list[Record]) -> None:
    tok, folder = exported(tmp_path)
    jinja = folder / "chat_template.jinja"
    jinja.write_text(jinja.read_text().replace("<|im_start|>assistant\\n", "<|im_start|>assistant\\n "))
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["eos_token"] = "<|endoftext|>"
    config_path.write_text(json.dumps(config))
    checks = {f.check for f in export_parity(tok, folder, records, stop_token_ids=[514]).findings}
    assert checks == {"export_chat_template", "export_eos", "export_prompt_ids"}


def test_export_missing_a_cloned_token_fails(tmp_path: Path, records: list[Record]) -> None:
    base = load_chat_tokenizer(DEMO).tokenizer  # the plain base tokenizer, as if the clone was lost
    folder = tmp_path / "plain"
    base.save_pretrained(folder)
    (folder / "generation_config.json").write_text(json.dumps({"eos_token_id": [514]}))
    checks = {f.check for f in export_parity(qwen(), folder, records, stop_token_ids=[514]).findings}
    assert {"export_special_tokens", "export_chat_template", "export_eos", "export_prompt_ids"} <= checks
