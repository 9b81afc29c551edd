"""Ollama's side: Modelfile parsing, default SYSTEM and MESSAGE history, collation, both template forms."""

from __future__ import annotations

import pytest

from harness.templates.gotmpl import GoTemplateError
from harness.templates.ollama import (
    ModelfileError,
    collate,
    parse_go,
    parse_modelfile,
    render_ollama,
    with_defaults,
)

MODELFILE = '''# a comment
FROM qwen2.5:0.5b
TEMPLATE """{{ if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}{{ if .Prompt }}<|im_start|>user
{{ .Prompt }}<|im_end|>
{{ end }}<|im_start|>assistant
{{ .Response }}<|im_end|>
"""
SYSTEM You are terse.
PARAMETER stop "<|im_end|>"
parameter stop <|im_start|>
PARAMETER temperature 0.2
MESSAGE user "Hi \\"there\\""
MESSAGE assistant Hello.
'''


def test_modelfile_instructions() -> None:
    mf = parse_modelfile(MODELFILE)
    assert mf.template is not None and mf.template.startswith("{{ if .System }}")
    assert mf.template.endswith("<|im_end|>\n")  # verbatim between the triple quotes
    assert mf.template_line == 3
    assert mf.system == "You are terse."
    assert mf.stops == ("<|im_end|>", "<|im_start|>")
    assert mf.parameters["temperature"] == ["0.2"]
    assert mf.messages == (("user", 'Hi "there"'), ("assistant", "Hello."))


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ('FROM x\nTEMPLATE """{{ .Prompt }}\n', 2, "unterminated"),
    ("FROM x\n\nTEMPLTE {{ .Prompt }}\n", 3, "unknown instruction 'TEMPLTE'"),
    ("FROM x\nMESSAGE robot hi\n", 2, "MESSAGE role 'robot'"),
    ("FROM x\nPARAMETER stop\n", 2, "PARAMETER needs a name and a value"),
    ("SYSTEM\n", 1, "without a value"),
])
def test_modelfile_errors_name_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(ModelfileError) as info:
        parse_modelfile(text)
    assert info.value.line == line and fragment in info.value.message


def test_defaults_history_and_collation() -> None:
    mf = parse_modelfile(MODELFILE)
    convo = with_defaults(mf, [("user", "q")])
    assert convo == [("system", "You are terse."), ("user", 'Hi "there"'), ("assistant", "Hello."),
                     ("user", "q")]
    # As in Ollama: the request's own system message follows the MESSAGE history, no default added.
    assert with_defaults(mf, [("system", "Mine."), ("user", "q")])[2:] == [("system", "Mine."), ("user", "q")]
    system, merged = collate([("system", "A"), ("system", "B"), ("user", "x"), ("user", "y"),
                              ("tool", "1"), ("tool", "2")])
    assert system == "A\n\nB"
    assert merged == [("system", "A\n\nB"), ("user", "x\n\ny"), ("tool", "1"), ("tool", "2")]


def test_legacy_template_runs_once_per_exchange_and_cuts_after_response() -> None:
    template = parse_go(parse_modelfile(MODELFILE).template or "")
    text = render_ollama(template, [("system", "S"), ("user", "a"), ("assistant", "b"), ("user", "c")])
    assert text == ("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\n"
                    "b<|im_end|>\n<|im_start|>user\nc<|im_end|>\n<|im_start|>assistant\n")


def test_legacy_cut_keeps_conditions_on_response() -> None:
    # Ollama's deleteNode does not walk branch conditions: `if .Response` alone does not cut.
    template = parse_go("{{ if .Response }}R{{ end }}[{{ .Prompt }}]{{ .Response }}<END>")
    assert render_ollama(template, [("user", "p")]) == "[p]"


def test_messages_template_gets_system_messages_and_tools() -> None:
    template = parse_go("{{ .System }}|{{ range .Messages }}{{ .Role }}:{{ .Content }};{{ end }}"
                        "{{ if .Tools }}T{{ end }}{{ .Response }}")
    assert render_ollama(template, [("system", "S"), ("user", "u")]) == "S|system:S;user:u;"


def test_parse_go_reports_file_lines() -> None:
    with pytest.raises(GoTemplateError) as info:
        parse_go("ok\n{{ if .X }}", first_line=5)
    assert info.value.line == 6
