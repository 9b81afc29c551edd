"""Serving template files: kinds, one-line errors, and the hand-written Modelfiles against real HF templates.

The Modelfiles and Go templates in ``tests/fixtures/serving`` were written for this
project (see its README); each must render byte-identically to the Hugging Face
template of its family on clean conversations, up to the BOS that Ollama's runtime
adds when the tokenizer adds it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from harness.data.loaders import load_records
from harness.errors import DataError
from harness.models.loading import load_tokenizer
from harness.templates.serving import adds_bos, load_serving_template
from harness.testing.serving_families import FAMILIES, family_tokenizer
from harness.testing.template_planted import load_templates

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SERVING = FIXTURES / "serving"
TEMPLATES = FIXTURES / "templates"


@cache
def tokenizer_for(name: str) -> Any:
    return family_tokenizer(FAMILIES[name], load_templates(TEMPLATES / "chat_templates"),
                            lambda folder: load_tokenizer(TEMPLATES / folder)[0],
                            lambda: load_tokenizer(TEMPLATES / "mistral-7b-instruct-v0.2")[0])


def conversations(system: bool) -> list[list[tuple[str, str]]]:
    """Clean prompts from real rows: one turn, two exchanges, and with a system turn when supported."""
    rows = [r for r in load_records(TEMPLATES / "conversations.jsonl") if len(r.turns) == 2][:24]
    pairs = [(r.prompt.strip(), r.response.strip()) for r in rows]
    out: list[list[tuple[str, str]]] = []
    for k in range(0, len(pairs) - 1, 2):
        (q1, a1), (q2, _) = pairs[k], pairs[k + 1]
        out += [[("user", q1)], [("user", q1), ("assistant", a1), ("user", q2)]]
        if system:
            out.append([("system", "You are a careful assistant."), ("user", q2)])
    return out


@pytest.mark.parametrize(("family", "fixture"), [
    ("chatml", "qwen2.5.Modelfile"), ("chatml-plain", "chatml.gotmpl"),
    ("chatml-plain", "chatml-legacy.gotmpl"),
    ("llama3", "llama3.Modelfile"), ("mistral", "mistral.Modelfile"), ("phi3", "phi3.Modelfile"),
    ("gemma", "gemma2.Modelfile"),
])
def test_handwritten_go_templates_render_like_the_hf_template(family: str, fixture: str) -> None:
    tok = tokenizer_for(family)
    serving = load_serving_template(SERVING / fixture)
    bos = tok.bos_token if adds_bos(tok) else ""
    convos = conversations(FAMILIES[family].pieces.system)
    assert len(convos) >= 24
    for convo in convos:
        hf = tok.apply_chat_template([{"role": r, "content": c} for r, c in convo], tokenize=False,
                                     add_generation_prompt=True)
        assert hf == bos + serving.render(tok, convo), convo


def test_kinds_by_name_and_content(tmp_path: Path) -> None:
    assert load_serving_template(SERVING / "phi3.Modelfile").kind == "modelfile"
    assert load_serving_template(SERVING / "chatml.gotmpl").kind == "gotmpl"
    jinja = TEMPLATES / "chat_templates" / "jinja" / "llama-3.2-instruct.jinja"
    assert load_serving_template(jinja).kind == "jinja"
    assert load_serving_template(TEMPLATES / "chat_templates" / "phi-3-mini-instruct.json").kind == "jinja"
    sniffed = tmp_path / "serving"
    sniffed.write_text((SERVING / "mistral.Modelfile").read_text(encoding="utf-8"), encoding="utf-8")
    assert load_serving_template(sniffed).kind == "modelfile"
    sniffed.write_text("{{ range .Messages }}{{ .Content }}{{ end }}", encoding="utf-8")
    assert load_serving_template(sniffed).kind == "gotmpl"
    sniffed.write_text("{% for m in messages %}{{ m.content }}{% endfor %}", encoding="utf-8")
    assert load_serving_template(sniffed).kind == "jinja"


@pytest.mark.parametrize(("name", "text", "where", "fragment"), [
    ("x.Modelfile", 'FROM a\n\nTEMPLATE """{{ range .Messages }}\n{{ .Content }\n"""\n', ":4:",
     "Go template does not parse"),
    ("x.gotmpl", "{{ range .Messages }}{{ $undefined }}{{ end }}", ":1:", 'undefined variable "$undefined"'),
    ("x.gotmpl", "{{ .Name }}", ":1:", "reads none of .Messages"),
    ("x.Modelfile", "FROM llama3\nSYSTEM hi\n", "x.Modelfile:", "has no TEMPLATE"),
    ("x.jinja", "{% for m in messages %}\n{{ m.content }\n", ":2:", "Jinja template does not parse"),
    ("x.jinja", "{{ bos_token }}", ":1:", "never reads 'messages'"),
    ("x.txt", "just some text\n", ":1:", "not a template"),
    ("x.json", '{"bos_token": "<s>"}', "chat_template", "no string 'chat_template'"),
])
def test_bad_files_are_one_line_errors(tmp_path: Path, name: str, text: str, where: str,
                                      fragment: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_serving_template(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and where in message and fragment in message


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such serving template file"):
        load_serving_template(tmp_path / "nope.jinja")
    binary = tmp_path / "Modelfile"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(DataError, match="not UTF-8"):
        load_serving_template(binary)
