"""The chat template section: token by token, loss and answer start marked, everything escaped."""

from __future__ import annotations

from pathlib import Path

from harness.report import render_run
from harness.report.token_view import shown, token_views
from harness.results import (
    Finding,
    Ref,
    RunResults,
    StopStats,
    TemplateInfo,
    TemplateParity,
    TokenCell,
    TokenExample,
)

HOSTILE = "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','tok')\">"


def template() -> TemplateParity:
    training = TokenExample(item_id="eval/0", kind="training", answer_start=2, tokens=[
        TokenCell(id=513, text="<|im_start|>", special=True), TokenCell(id=13, text="<0x0A>"),
        TokenCell(id=99, text=HOSTILE, loss=True), TokenCell(id=7, text="a b\n", loss=True)])
    prompt = TokenExample(item_id="eval/0", kind="generation_prompt", tokens=training.tokens[:2])
    finding = Finding(check="parity_generation_prompt", severity="error", message=f"differs: {HOSTILE}",
                      refs=[Ref(split="eval", index=0)], details={"prompt": {"text": HOSTILE}})
    return TemplateParity(template=TemplateInfo(source=f"clone of {HOSTILE}", template_sha256="ab" * 32,
                                                clone_source=HOSTILE, added_tokens=[HOSTILE]),
                          compared=1, findings=[finding], examples=[training, prompt],
                          stops=[StopStats(model="ft", items=1, stopped=1, end_of_turn=1, unterminated=0,
                                           max_new_tokens=8)])


def test_whitespace_in_tokens_is_made_visible() -> None:
    assert shown("a b\n\t") == "a␣b↵⇥" and shown("") == "∅" and shown("▁the") == "▁the"
    views = token_views(template())
    assert [v.kind for v in views] == ["training", "generation_prompt"]
    assert [c.loss for c in views[0].cells] == [False, False, True, True] and views[0].answer_start == 2
    assert token_views(None) == []


def test_template_section_is_escaped(tmp_path: Path) -> None:
    results = RunResults(suite="s", models={"ft": {"exact_match": 1.0}}, candidate="ft", template=template())
    html = render_run(results, [], tmp_path / "index.html").read_text()
    assert 'id="template"' in html and "1 parity findings" in html
    assert "<img" not in html and "&lt;img src=x" in html
    assert '<span class="tok special" title="id 513">&lt;|im_start|&gt;</span>' in html
    assert '<span class="answer-start"></span><span class="tok loss"' in html
    assert "a␣b↵" in html
