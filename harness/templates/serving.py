"""A serving template from a file: Jinja (vLLM's ``--chat-template``), an Ollama Modelfile or a Go template.

:func:`load_serving_template` reads and checks the file before any work (a
:class:`~harness.errors.DataError` naming file and line otherwise). The kind is
taken from the name (``Modelfile``/``*.modelfile``, ``*.jinja``/``*.j2``,
``*.gotmpl``/``*.tmpl``, ``*.json`` with a ``chat_template``) or, failing that,
from the content. :meth:`ServingTemplate.render` writes the prompt a server sends for
a conversation that ends with a user turn, and :meth:`ServingTemplate.encode` turns it
into the ids the server feeds the model:

============  ==============================================  ================================
kind          rendering                                       BOS
============  ==============================================  ================================
jinja         ``apply_chat_template(add_generation_prompt)``  only what the template writes
                                                              (vLLM's ``add_special_tokens``
                                                              is false for chat requests)
modelfile     Ollama's rules (:mod:`harness.templates.ollama`) the tokenizer's own (Ollama adds
gotmpl        the same, with no SYSTEM/stop/MESSAGE lines       BOS when the model's does)
============  ==============================================  ================================
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from harness.errors import DataError
from harness.templates.gotmpl import GoTemplate, GoTemplateError
from harness.templates.ollama import (
    Modelfile,
    ModelfileError,
    parse_go,
    parse_modelfile,
    render_ollama,
    with_defaults,
)
from harness.userfiles import read_text

Kind = Literal["jinja", "modelfile", "gotmpl"]
_GO_ACTION = re.compile(r"\{\{-?\s*(\.|\$|range\b|if\b|with\b|end\b|/\*)")
_MODELFILE_LINE = re.compile(r"^\s*(FROM|TEMPLATE|SYSTEM|PARAMETER|MESSAGE|ADAPTER|LICENSE)\s", re.I | re.M)


class ServingRenderError(Exception):
    """The serving template failed on a conversation (a Jinja exception, a Go execution error)."""


@dataclass(frozen=True)
class ServingTemplate:
    path: Path
    kind: Kind
    text: str  # the template source (a Modelfile's TEMPLATE block)
    modelfile: Modelfile | None = None
    go: GoTemplate | None = None

    @property
    def stops(self) -> tuple[str, ...]:
        return self.modelfile.stops if self.modelfile else ()

    @property
    def system(self) -> str | None:
        return self.modelfile.system if self.modelfile else None

    @property
    def bos_rule(self) -> str:
        return "template only" if self.kind == "jinja" else "tokenizer's own (Ollama)"

    def render(self, tokenizer: Any, messages: Sequence[tuple[str, str]]) -> str:
        """The serving prompt for ``messages`` (ending with a user turn)."""
        if self.go is None:
            chat = [{"role": r, "content": c} for r, c in messages]
            try:
                return str(tokenizer.apply_chat_template(chat, chat_template=self.text, tokenize=False,
                                                         add_generation_prompt=True))
            except Exception as exc:  # jinja2 errors, raise_exception(...)
                raise ServingRenderError(_first_line(exc)) from exc
        convo = with_defaults(self.modelfile, messages) if self.modelfile else list(messages)
        try:
            return render_ollama(self.go, convo)
        except GoTemplateError as exc:
            raise ServingRenderError(str(exc)) from exc

    def adds_special(self, tokenizer: Any) -> bool:
        """Whether the server tokenizes its prompt with the tokenizer's special tokens (BOS) added."""
        return self.kind != "jinja" and adds_bos(tokenizer)

    def encode(self, tokenizer: Any, text: str) -> list[int]:
        """The ids the server feeds the model for a rendered prompt (the BOS rule in the table)."""
        return list(tokenizer(text, add_special_tokens=self.adds_special(tokenizer))["input_ids"])


def adds_bos(tokenizer: Any) -> bool:
    """Whether the tokenizer puts BOS in front when asked to add special tokens."""
    bos = getattr(tokenizer, "bos_token_id", None)
    if not isinstance(bos, int):
        return False
    ids = tokenizer("a", add_special_tokens=True)["input_ids"]
    return bool(ids) and ids[0] == bos


def load_serving_template(path: str | Path) -> ServingTemplate:
    """Read, classify and check a serving template file (see the module docstring)."""
    p = Path(path)
    text = read_text(p, "serving template file", kind="template")
    kind = _kind(p, text)
    if p.suffix.lower() == ".json":
        text = _json_template(p, text)
    return serving_from_text(text, kind, p)


def serving_from_text(text: str, kind: Kind, path: str | Path = "<text>") -> ServingTemplate:
    """A serving template from its text (``path`` names it in errors); checked as a file would be."""
    p = Path(path)
    if kind == "modelfile":
        return _from_modelfile(p, text)
    if kind == "gotmpl":
        return ServingTemplate(p, "gotmpl", text, go=_go(p, text, 1))
    _check_jinja(p, text)
    return ServingTemplate(p, "jinja", text)


def _kind(p: Path, text: str) -> Kind:
    name, suffix = p.name.lower(), p.suffix.lower()
    if name == "modelfile" or suffix == ".modelfile":
        return "modelfile"
    if suffix in (".jinja", ".j2", ".jinja2", ".json"):
        return "jinja"
    if suffix in (".gotmpl", ".tmpl", ".gotemplate"):
        return "gotmpl"
    if _MODELFILE_LINE.search(text) and re.search(r"^\s*TEMPLATE\s", text, re.I | re.M):
        return "modelfile"
    if "{%" in text:
        return "jinja"
    if _GO_ACTION.search(text):
        return "gotmpl"
    if "{{" in text:
        return "jinja"
    raise DataError("not a template: no Jinja ({% %}, {{ }}) or Go ({{ .Field }}) syntax, and no "
                    "Modelfile TEMPLATE instruction", path=p, line=1)


def _from_modelfile(p: Path, text: str) -> ServingTemplate:
    try:
        modelfile = parse_modelfile(text)
    except ModelfileError as exc:
        raise DataError(exc.message, path=p, line=exc.line) from None
    if modelfile.template is None:
        raise DataError("the Modelfile has no TEMPLATE: the serving template would come from the FROM "
                        "model, which cannot be read here", path=p,
                        hint="copy the model's template into a TEMPLATE block")
    go = _go(p, modelfile.template, modelfile.template_line)
    return ServingTemplate(p, "modelfile", modelfile.template, modelfile=modelfile, go=go)


def _go(p: Path, text: str, first_line: int) -> GoTemplate:
    try:
        go = parse_go(text, first_line)
    except GoTemplateError as exc:
        raise DataError(f"Go template does not parse: {exc.message}", path=p, line=exc.line) from None
    names = go.identifiers()
    if not names & {"messages", "prompt", "response"}:
        raise DataError("not a chat template: the Go template reads none of .Messages, .Prompt, .Response",
                        path=p, line=first_line)
    return go


def _json_template(p: Path, text: str) -> str:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"not valid JSON: {exc.msg}", path=p, line=exc.lineno) from None
    template = data.get("chat_template") if isinstance(data, dict) else None
    if not isinstance(template, str) or not template.strip():
        raise DataError("no string 'chat_template' in this JSON file", path=p, field="chat_template")
    return template


def _check_jinja(p: Path, text: str) -> None:
    import jinja2
    from transformers.utils.chat_template_utils import _compile_jinja_template

    try:
        _compile_jinja_template(text)
    except jinja2.TemplateSyntaxError as exc:
        raise DataError(f"Jinja template does not parse: {exc.message}", path=p, line=exc.lineno) from None
    if "messages" not in text:
        raise DataError("not a chat template: the Jinja template never reads 'messages'", path=p, line=1)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
