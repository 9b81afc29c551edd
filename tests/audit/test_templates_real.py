"""Real conversations through each real chat template: clean data gives no finding, planted cases do.

The templates are the real ``tokenizer_config.json`` ones (Llama 3, Mistral v0.2,
Qwen2.5, Qwen3, Phi-3 mini/medium, Phi-4 mini, Gemma, Gemma 2, Gemma 3) and TRL's
Llama 3.1/3.2 originals; each is put on the Phi-3 tokenizer with that family's
control tokens as single special tokens (what the checks depend on).
"""

from __future__ import annotations

from typing import Any

import pytest
from test_templates_support import (
    TEMPLATES,
    family_tokenizer,
    long_answers,
    pairs,
    template_config,
)

from harness.audit.template_probe import probe_template
from harness.audit.templates import audit_templates
from harness.testing.template_planted import clean_records, load_templates, measure, planted_groups

GEMMA_TOKENS = ("<start_of_turn>", "<end_of_turn>")  # the gemma-3 extract lacks its added tokens
CASES = {
    "llama-3-8b-instruct": ("llama-3-8b-instruct", None),
    "mistral-7b-instruct-v0.2": ("mistral-7b-instruct-v0.2", None),
    "qwen2.5-instruct": ("qwen2.5-instruct", None),
    "qwen3": ("qwen3", None),
    "phi-3-mini-instruct": ("phi-3-mini-instruct", None),
    "phi-3-medium-instruct": ("phi-3-medium-instruct", None),
    "phi-4-mini-instruct": ("phi-4-mini-instruct", None),
    "gemma-it": ("gemma-it", None),
    "gemma-2-it": ("gemma-2-it", None),
    "gemma-3-it": ("gemma-3-it", None),
    "llama-3.1": ("llama-3-8b-instruct", "jinja/llama-3.1-instruct.jinja"),
    "llama-3.2": ("llama-3-8b-instruct", "jinja/llama-3.2-instruct.jinja"),
}
SYSTEM_SUPPORT = {"mistral-7b-instruct-v0.2": "raises", "gemma-it": "raises", "gemma-2-it": "raises",
                  "phi-3-medium-instruct": "dropped"}


def tokenizer_for(name: str) -> Any:
    config, jinja = CASES[name]
    template = (TEMPLATES / jinja).read_text(encoding="utf-8") if jinja else None
    return family_tokenizer(template_config(config), template, GEMMA_TOKENS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_clean_conversations_pass_every_real_template(name: str) -> None:
    tok = tokenizer_for(name)
    profile = probe_template(tok)
    assert profile.system == SYSTEM_SUPPORT.get(name, "supported")
    records = clean_records(pairs(), 24, system_ok=profile.system == "supported", seed=5)
    assert any(len(r.turns) >= 4 for r in records)  # multi-turn is part of "clean"
    result = audit_templates(tok, records, split="train", max_seq_len=4096, show=1)
    assert result.findings == [], [(f.check, f.message) for f in result.findings[:3]]
    # What is trained is the answer and the turn end, not the question.
    segments = result.summary["examples"][0]["segments"]
    trained = "".join(s["text"] for s in segments if s["loss"])
    assert records[0].turns[-1].content.strip()[:40] in trained
    assert records[0].turns[-2].content.strip()[:40] not in trained


@pytest.mark.parametrize("name", sorted(CASES))
def test_planted_cases_are_found_on_every_real_template(name: str) -> None:
    tok = tokenizer_for(name)
    templates = load_templates(TEMPLATES)
    groups = planted_groups(tok, pairs(), long_answers(), 3, family="generic", templates=templates, seed=7)
    report = measure(tok, [], groups, max_seq_len=512)
    expected = {"unknown_role", "role_order", "missing_final_assistant", "empty_assistant",
                "foreign_control_tokens", "own_special_tokens", "prerendered", "echoed_system_prompt",
                "double_bos", "truncation_prompt", "truncation_response", "loss_mask"}
    if SYSTEM_SUPPORT.get(name, "supported") != "supported":
        expected.add("system_unsupported")
    if SYSTEM_SUPPORT.get(name) == "raises":
        expected.add("template_render")
    if tok.bos_token == tok.eos_token:  # Phi-4: a BOS in content is an EOS, own_special_tokens' case
        expected.discard("double_bos")
    assert set(report.planted) == expected
    assert report.missed == {}, report.missed


def test_templates_without_eos_are_caught() -> None:
    """Real templates that write no EOS after the answer (falcon, solar, granite)."""
    templates = load_templates(TEMPLATES)
    for key in ("ollama:falcon-instruct:34", "ollama:solar-instruct:35", "ollama:granite-instruct:25"):
        tok = family_tokenizer(template_config("phi-3-mini-instruct"), templates[key])
        records = clean_records(pairs(), 6, system_ok=False, seed=1)
        result = audit_templates(tok, records, split="train", max_seq_len=4096)
        flagged = {f.refs[0].index for f in result.findings if f.check == "missing_eos"}
        assert flagged == set(range(6)), key
