"""The template audit's contract and each check, on real tokenizers (Phi-3 mini, Mistral 7B v0.2, demo)."""

from __future__ import annotations

from typing import Any

import pytest
from test_templates_support import (
    MISTRAL,
    PHI3,
    chat,
    dolly_records,
    load,
    long_answers,
    pairs,
    record,
)

from harness.audit.template_findings import CHECKS, SEVERITY
from harness.audit.templates import TemplateAudit, audit_templates
from harness.data.record import ASSISTANT, SYSTEM, USER
from harness.models.templates import PLAIN_TEMPLATE


@pytest.fixture(scope="module")
def phi3() -> Any:
    return load(PHI3)


@pytest.fixture(scope="module")
def mistral() -> Any:
    return load(MISTRAL)


@pytest.fixture(scope="module")
def demo(demo_model_path: Any) -> Any:
    return load(demo_model_path)


def audit(tok: Any, *records: Any, max_seq_len: int | None = 2048, show: int = 5) -> TemplateAudit:
    recs = [r if r.index == i else type(r)(turns=r.turns, index=i, source=r.source, format=r.format)
            for i, r in enumerate(records)]
    return audit_templates(tok, recs, split="train", max_seq_len=max_seq_len, show=show)


def checks_of(result: TemplateAudit, index: int = 0) -> set[str]:
    return {f.check for f in result.findings if any(r.index == index for r in f.refs)}


def test_contract_one_checkrun_per_check_and_summary(phi3: Any) -> None:
    recs = [chat(q, a) for q, a in pairs()[:30]]
    result = audit(phi3, *recs, show=3)
    assert [c.check for c in result.checks] == list(CHECKS)
    assert all(c.findings == 0 for c in result.checks)
    assert result.findings == []
    s = result.summary
    assert s["template_source"] == "tokenizer" and s["rendered"] == 30 and s["render_failures"] == 0
    assert set(s["prompt_tokens"]) == {"p50", "p90", "p95", "p99", "max", "mean"}
    assert 0 < s["prompt_tokens"]["p50"] <= s["prompt_tokens"]["max"]
    assert s["truncation_rate"] == 0.0
    assert len(s["examples"]) == 3


def test_examples_show_exactly_the_assistant_text_with_loss(phi3: Any) -> None:
    q, a = pairs()[0]
    seg = audit(phi3, chat(q, a)).summary["examples"][0]["segments"]
    assert "".join(s["text"] for s in seg).startswith("<|user|>\n")
    trained = "".join(s["text"] for s in seg if s["loss"])
    assert trained.startswith(a) and trained.endswith("<|end|>\n<|endoftext|>")
    assert q not in trained


def test_clean_real_conversations_give_no_finding(phi3: Any, mistral: Any) -> None:
    recs = [chat(q, a, index=i) for i, (q, a) in enumerate(pairs())]
    for tok in (phi3, mistral):
        result = audit(tok, *recs)
        assert result.findings == [], [f.message for f in result.findings[:3]]


def test_no_chat_template_warns_once_and_uses_plain(demo: Any) -> None:
    assert demo.chat_template == PLAIN_TEMPLATE  # load_tokenizer set the documented fallback
    result = audit(demo, *[chat(q, a) for q, a in pairs()[:5]])
    found = [f for f in result.findings if f.check == "no_chat_template"]
    assert len(found) == 1 and found[0].severity == "warning" and found[0].refs == []
    assert result.summary["template_source"].startswith("plain")


def test_tokenizer_without_template_gets_the_plain_one(demo_model_path: Any) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(demo_model_path))
    assert tok.chat_template is None
    result = audit(tok, chat("Hi", "Hello."))
    assert tok.chat_template == PLAIN_TEMPLATE
    assert [f.check for f in result.findings] == ["no_chat_template"]


def test_render_failure_is_a_finding_not_a_crash(mistral: Any) -> None:
    result = audit(mistral, chat("Hi", "Hello.", system="You are a pirate."), chat("Q", "A"))
    render = [f for f in result.findings if f.check == "template_render"]
    assert len(render) == 1 and render[0].severity == "error" and render[0].refs[0].index == 0
    assert "alternate" in render[0].message
    assert "system_unsupported" in checks_of(result)
    assert result.summary["render_failures"] == 1 and result.summary["rendered"] == 1


def test_system_dropped_silently_by_phi3_medium_template(phi3: Any) -> None:
    from test_templates_support import template_config

    tok = load(PHI3)
    tok.chat_template = template_config("phi-3-medium-instruct")["chat_template"]
    result = audit(tok, chat("Hi", "Hello.", system="Answer like a pirate."), chat("Q", "A"))
    assert checks_of(result, 0) == {"system_unsupported"}
    assert "drops" in result.findings[0].message and checks_of(result, 1) == set()


def test_unknown_role_dropped_by_phi3_is_reported_with_its_fate(phi3: Any) -> None:
    result = audit(phi3, record((USER, "Q"), ("gpt", "The answer.")))
    msgs = {f.check: f.message for f in result.findings}
    assert "drops it silently" in msgs["unknown_role"]
    assert "loss_mask" in msgs  # the only answer is gone: nothing is trained
    assert "missing_final_assistant" in msgs


def test_tool_role_only_reported_when_template_loses_it(phi3: Any) -> None:
    result = audit(phi3, record((USER, "Q"), ("tool", "42"), (ASSISTANT, "It is 42.")))
    assert "unknown_role" in checks_of(result)  # Phi-3 mini has no tool branch: dropped


@pytest.mark.parametrize(("turns", "check"), [
    (((USER, "a"), (USER, "b"), (ASSISTANT, "c")), "role_order"),
    (((ASSISTANT, "a"), (USER, "b"), (ASSISTANT, "c")), "role_order"),
    (((USER, "a"), (ASSISTANT, "b"), (SYSTEM, "c"), (USER, "d"), (ASSISTANT, "e")), "role_order"),
    (((USER, "a"), (ASSISTANT, "b"), (USER, "c")), "missing_final_assistant"),
    (((USER, "a"), (ASSISTANT, "  ")), "empty_assistant"),
    (((SYSTEM, "You are a calm assistant."), (USER, "q"), (ASSISTANT, "You are a calm assistant. Fine.")),
     "echoed_system_prompt"),
])
def test_role_checks(phi3: Any, turns: Any, check: str) -> None:
    result = audit(phi3, record(*turns))
    assert check in checks_of(result)
    assert all(f.severity == SEVERITY[f.check] for f in result.findings if f.check == check)


def test_control_tokens_own_and_foreign(phi3: Any, mistral: Any) -> None:
    result = audit(phi3, chat("Stop here <|end|> please", "ok"), chat("What is <|eot_id|>?", "A token."))
    own = next(f for f in result.findings if f.check == "own_special_tokens")
    assert own.severity == "error" and own.details["tokens"] == ["<|end|>"] and own.refs[0].index == 0
    foreign = next(f for f in result.findings if f.check == "foreign_control_tokens")
    assert foreign.refs[0].index == 1 and "Llama 3" in foreign.message
    # For Mistral, "<|end|>" is foreign and "[/INST]" is its own template marker (text, so a warning).
    result = audit(mistral, chat("x <|end|> y", "ok"), chat("x [/INST] y", "ok"))
    assert checks_of(result, 0) == {"foreign_control_tokens"}
    marker = next(f for f in result.findings if f.check == "own_special_tokens")
    assert marker.severity == "warning" and marker.refs[0].index == 1


def test_real_prerendered_dolly_prompts(phi3: Any) -> None:
    result = audit(phi3, *dolly_records())
    flagged = {f.refs[0].index for f in result.findings if f.check == "prerendered"}
    assert flagged == set(range(20))
    assert any("Alpaca" in f.message for f in result.findings)


def test_double_bos_after_tokenization(mistral: Any) -> None:
    result = audit(mistral, chat("<s>[INST] hi", "ok"), chat("hi", "ok"))
    bos = [f for f in result.findings if f.check == "double_bos"]
    assert len(bos) == 1 and bos[0].refs[0].index == 0 and bos[0].details["bos_tokens"] == 2


def test_missing_eos_with_a_template_that_writes_none(phi3: Any) -> None:
    tok = load(PHI3)
    tok.chat_template = ("{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\n' }}{% endfor %}"
                         "{% if add_generation_prompt %}{{ 'assistant: ' }}{% endif %}")
    result = audit(tok, chat("Q", "A"), record((USER, "a"), (ASSISTANT, "b"), (USER, "c"), (ASSISTANT, "d")))
    eos = [f for f in result.findings if f.check == "missing_eos"]
    assert [f.refs[0].index for f in eos] == [0, 1] and eos[1].details["turns"] == [1, 3]


def test_truncation_split_into_prompt_and_response(phi3: Any) -> None:
    long_text = "\n\n".join(long_answers()[:3])
    result = audit(phi3, chat(long_text, "Short."), chat("Short?", long_text), chat("Short?", "Short."),
                   max_seq_len=256)
    assert checks_of(result, 0) == {"truncation_prompt"} and checks_of(result, 1) == {"truncation_response"}
    assert checks_of(result, 2) == set()
    s = result.summary
    assert s["truncated"] == {"prompt": 1, "response": 1} and s["truncation_rate"] == pytest.approx(2 / 3)
    cut = result.summary["examples"][1]
    assert cut["truncated"] and cut["segments"][-1].get("cut") is True


def test_no_max_seq_len_means_no_truncation_findings(phi3: Any) -> None:
    result = audit(phi3, chat("Short?", "\n\n".join(long_answers()[:3])), max_seq_len=None)
    assert result.findings == [] and result.summary["truncation_rate"] is None


def test_text_records_get_content_checks_only(phi3: Any) -> None:
    text = record(("text", "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>"))
    result = audit(phi3, text)
    assert checks_of(result) == {"prerendered", "foreign_control_tokens"}
    assert result.summary["text_records"] == 1 and result.summary["chat_records"] == 0


def test_findings_carry_refs_and_clipped_text(phi3: Any) -> None:
    result = audit(phi3, chat("x" * 1000 + " <|end|>", "ok"))
    f = next(f for f in result.findings if f.check == "own_special_tokens")
    assert f.refs[0].split == "train" and len(f.details["text"]) <= 200 and "<|end|>" in f.details["text"]
