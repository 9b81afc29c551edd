"""Pieces of the template audit: marker scan, pre-rendered patterns, role checks, template probe."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_templates_support import MISTRAL, PHI3, load, record, template_config

from harness.audit.control_tokens import FAMILY_OF, MarkerSet, build_markers, scan
from harness.audit.template_prerendered import find_prerendered, own_structure
from harness.audit.template_probe import probe_template, sentinel, skeleton_messages, skeleton_regions
from harness.audit.template_roles import role_issues
from harness.data.labels import render, render_many
from harness.data.record import ASSISTANT, SYSTEM, USER


@pytest.fixture(scope="module")
def phi3() -> Any:
    return load(PHI3)


def naive_scan(texts: list[str], tokens: list[str]) -> list[tuple[int, int, str]]:
    """Every occurrence, longest token first at a position, no overlaps (what the regex does)."""
    out = []
    for i, text in enumerate(texts):
        pos = 0
        while pos < len(text):
            hit = next((t for t in sorted(tokens, key=len, reverse=True) if text.startswith(t, pos)), None)
            if hit:
                out.append((i, pos, hit))
                pos += len(hit)
            else:
                pos += 1
    return out


PIECES = ["<|end|>", "<|endoftext|>", "<|eot_id|>", "[INST]", "</s>", "<s>", "a", " ", "<", "|", "\n"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=12).map("".join), min_size=1, max_size=6))
def test_scan_matches_a_naive_search(texts: list[str]) -> None:
    markers = phi3_markers()
    got = [(h.text_index, h.start, h.marker.text) for h in scan(texts, markers)]
    assert got == naive_scan(texts, list(markers.markers))


@lru_cache(maxsize=1)
def phi3_markers() -> MarkerSet:
    """Hypothesis runs many examples per test call: build the markers once (not a fixture)."""
    return build_markers(load(PHI3), "")


def test_markers_know_own_from_foreign(phi3: Any) -> None:
    markers = build_markers(phi3, str(phi3.chat_template)).markers
    assert markers["<|end|>"].own and markers["<|end|>"].special
    assert markers["<s>"].own and markers["</s>"].own  # Phi-3 has both as added tokens
    assert not markers["<|eot_id|>"].own and markers["<|eot_id|>"].family == "Llama 3"
    mistral = load(MISTRAL)
    m = build_markers(mistral, str(mistral.chat_template)).markers
    assert m["[INST]"].own and not m["[INST]"].special  # in the template, but text to the tokenizer
    assert not m["<|end|>"].own and FAMILY_OF["<|end|>"] == m["<|end|>"].family


@pytest.mark.parametrize(("text", "kind"), [
    ("<|im_start|>user\nhi<|im_end|>", "ChatML turn"),
    ("<|start_header_id|>assistant<|end_header_id|>\n\nok", "Llama 3 turn header"),
    ("[INST] What? [/INST] That.", "Mistral/Llama 2 [INST] block"),
    ("<start_of_turn>model\nhi", "Gemma turn"),
    ("### Instruction:\nDo it\n\n### Response:\nDone", "Alpaca prompt"),
    ("Human: hi there\nAssistant: hello", "transcript with role lines"),
    ("The answer.###eos_token###", "unsubstituted template variable"),
    ("Answer {{ eos_token }}", "unsubstituted template variable"),
])
def test_prerendered_patterns(text: str, kind: str) -> None:
    found = find_prerendered(text, None)
    assert found is not None and found.kind == kind


@pytest.mark.parametrize("text", [
    "Write a dialogue between a user and an assistant.",
    "The user: a person. The assistant: a program.",
    "Use [INST] tags when prompting Mistral.",  # a lone marker is the control-token checks' business
    "Render {{ name }} with jinja.",
    "### Summary\nThe response was positive.",
])
def test_prerendered_clean_texts(text: str) -> None:
    assert find_prerendered(text, None) is None


def test_own_structure_of_the_plain_template(demo_model_path: Any) -> None:
    tok = load(demo_model_path)
    own = own_structure(probe_template(tok))
    assert own == ("User:", "Assistant:")
    found = find_prerendered("User: hi\nAssistant: hello", own)
    assert found is not None and found.kind == "this model's own template"


def test_probe_reads_the_template_layout(phi3: Any) -> None:
    p = probe_template(phi3)
    assert (p.system, p.turn_end, p.user_header, p.renders) == ("supported", "<|end|>\n", "<|user|>\n", True)
    m = probe_template(load(MISTRAL))
    assert (m.system, m.turn_end, m.user_header, m.writes_bos) == ("raises", "</s>", "[INST] ", True)
    assert "alternate" in str(m.system_error)
    gemma = load(PHI3)
    gemma.chat_template = template_config("gemma-2-it")["chat_template"]
    assert probe_template(gemma).system == "raises"


def test_skeleton_regions_locate_each_turn_exactly(phi3: Any) -> None:
    rec = record((SYSTEM, "sys"), (USER, "the question"), (ASSISTANT, "the answer"), ("gpt", "dropped"))
    text = render(phi3, rec.messages)
    skeleton = render_many(phi3, [skeleton_messages(rec)])[0]
    assert sentinel(0) in str(skeleton)
    regions = skeleton_regions(rec, text, skeleton)
    assert regions.exact and regions.dropped == (3,)
    for k in range(3):
        s, e = regions.spans[k]  # type: ignore[misc]
        assert text[s:e] == rec.turns[k].content


def test_skeleton_regions_with_a_trimming_template() -> None:
    tok = load(PHI3)
    tok.chat_template = template_config("gemma-it")["chat_template"]
    rec = record((USER, "  padded question \n"), (ASSISTANT, " answer "))
    text = render(tok, rec.messages)
    regions = skeleton_regions(rec, text, render_many(tok, [skeleton_messages(rec)])[0])
    assert regions.exact
    assert [text[s:e] for s, e in regions.spans] == ["padded question", "answer"]  # type: ignore[misc]


@pytest.mark.parametrize(("turns", "checks"), [
    (((USER, "q"), (ASSISTANT, "a")), []),
    (((SYSTEM, "s"), (USER, "q"), (ASSISTANT, "a"), (USER, "q2"), (ASSISTANT, "a2")), []),
    (((USER, "q"), ("bot", "a"), ("bot", "b")), ["unknown_role", "missing_final_assistant"]),
    (((USER, "q"), (USER, "q"), (ASSISTANT, "a")), ["role_order"]),
    (((USER, "q"), (ASSISTANT, ""), (USER, "q"), (ASSISTANT, "a")), ["empty_assistant"]),
    (((SYSTEM, "Be brief."), (USER, "q"), (ASSISTANT, "be brief. ok")), ["echoed_system_prompt"]),
    (((SYSTEM, "Hi."), (USER, "q"), (ASSISTANT, "Hi. there")), []),  # too short to call an echo
])
def test_role_issues(turns: Any, checks: list[str]) -> None:
    assert [i.check for i in role_issues(record(*turns))] == checks
