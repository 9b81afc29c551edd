"""Ollama's side of serving: Modelfiles, and rendering a conversation the way Ollama's server does.

A Modelfile's ``TEMPLATE`` (a Go template), ``SYSTEM`` (the default system prompt),
``PARAMETER stop`` lines and ``MESSAGE`` lines (history placed before every request)
are read by :func:`parse_modelfile`. :func:`render_ollama` reproduces Ollama's
``template.Execute``:

* the Modelfile's ``SYSTEM`` is put first when the conversation does not start with
  a system message, after the ``MESSAGE`` history;
* consecutive messages of one role are merged (joined by a blank line), and the system
  messages joined the same way are ``.System``;
* a template that reads ``.Messages`` gets ``.System``, ``.Messages`` (``.Role``,
  ``.Content``...), ``.Tools`` and an empty ``.Response``;
* an older template (``.System``/``.Prompt``/``.Response``) is executed once per
  completed user/assistant exchange, and for the last prompt with everything after the
  ``.Response`` field cut away (Ollama's ``deleteNode`` walk).

Token ids are the runtime's business: Ollama adds BOS when the model's tokenizer adds it
by default (``tokenizer.ggml.add_bos_token``), whatever the template wrote.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.templates.gotmpl import GoTemplate, GoTemplateError
from harness.templates.gotmpl_parse import Action, Branch, Command, Dot, Node, Pipe
from harness.templates.gotmpl_values import Struct

INSTRUCTIONS = ("from", "adapter", "template", "system", "parameter", "license", "message", "requires")
ROLES = ("system", "user", "assistant", "tool")


@dataclass(frozen=True)
class Modelfile:
    template: str | None
    template_line: int  # the line the template text starts on (1-based; 0 when none)
    system: str | None
    stops: tuple[str, ...]
    messages: tuple[tuple[str, str], ...] = ()
    parameters: dict[str, list[str]] = field(default_factory=dict)


class ModelfileError(Exception):
    def __init__(self, message: str, line: int) -> None:
        self.message = message
        self.line = line
        super().__init__(f"line {line}: {message}")


def parse_modelfile(text: str) -> Modelfile:
    """The instructions of a Modelfile; a :class:`ModelfileError` names the line of a bad one."""
    lines = text.split("\n")
    template: str | None = None
    template_line = 0
    system: str | None = None
    params: dict[str, list[str]] = {}
    messages: list[tuple[str, str]] = []
    k = 0
    while k < len(lines):
        raw, number = lines[k].strip(), k + 1
        k += 1
        if not raw or raw.startswith("#"):
            continue
        word = raw.split(None, 1)[0]
        name = word.lower()
        if name not in INSTRUCTIONS:
            raise ModelfileError(f"unknown instruction {word!r} (known: {', '.join(INSTRUCTIONS)})", number)
        indent = len(lines[k - 1]) - len(lines[k - 1].lstrip())
        value, start_line, k = _value(lines, k - 1, indent + len(word), number)
        if name == "template":
            template, template_line = value, start_line
        elif name == "system":
            system = value
        elif name == "parameter":
            key, _, arg = value.strip().partition(" ")
            if not key or not arg.strip():
                raise ModelfileError("PARAMETER needs a name and a value", number)
            params.setdefault(key.lower(), []).append(_unquote(arg.strip()))
        elif name == "message":
            role, _, content = value.strip().partition(" ")
            if role.lower() not in ROLES:
                raise ModelfileError(f"MESSAGE role {role!r} is not one of {', '.join(ROLES)}", number)
            messages.append((role.lower(), _unquote(content.strip())))
    return Modelfile(template=template, template_line=template_line, system=system,
                     stops=tuple(params.get("stop", [])), messages=tuple(messages), parameters=params)


def _value(lines: list[str], k: int, offset: int, number: int) -> tuple[str, int, int]:
    """The argument starting at ``lines[k][offset:]``: triple-quoted (multi-line), quoted or bare.

    Returns (value, the line the value starts on, the index of the next line to read).
    """
    rest = lines[k][offset:].lstrip(" \t")
    if rest.startswith('"""'):
        body = rest[3:]
        if '"""' in body:
            return body[: body.index('"""')], number, k + 1
        parts = [body]
        for j in range(k + 1, len(lines)):
            if '"""' in lines[j]:
                parts.append(lines[j][: lines[j].index('"""')])
                return "\n".join(parts), number, j + 1
            parts.append(lines[j])
        raise ModelfileError('unterminated """ (no closing triple quote)', number)
    if not rest.strip():
        raise ModelfileError("instruction without a value", number)
    return _unquote(rest.strip()), number, k + 1


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r'\\(["\\])', r"\1", value[1:-1])
    return value


def message(role: str, content: str) -> Struct:
    """An ``*api.Message`` as templates see it."""
    return Struct("api.Message", {"Role": role, "Content": content, "Thinking": "", "Images": [],
                                  "ToolCalls": [], "ToolName": ""})


def with_defaults(modelfile: Modelfile, messages: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The conversation Ollama templates: MESSAGE history, then the default SYSTEM unless one is given."""
    out = list(modelfile.messages) + list(messages)
    if modelfile.system and (not messages or messages[0][0] != "system"):
        out.insert(0, ("system", modelfile.system))
    return out


def collate(messages: Sequence[tuple[str, str]]) -> tuple[str, list[tuple[str, str]]]:
    """Ollama's ``collate``: system text, and messages with same-role runs merged (tools kept apart)."""
    systems = [c for r, c in messages if r == "system"]
    out: list[tuple[str, str]] = []
    for role, content in messages:
        if out and out[-1][0] == role and role != "tool":
            out[-1] = (role, out[-1][1] + "\n\n" + content)
        else:
            out.append((role, content))
    return "\n\n".join(systems), out


def render_ollama(template: GoTemplate, messages: Sequence[tuple[str, str]]) -> str:
    """The prompt Ollama writes for ``messages`` (defaults already applied) with ``template``."""
    system, collated = collate(messages)
    if "messages" in template.identifiers():
        data = {"System": system, "Messages": [message(r, c) for r, c in collated], "Tools": [],
                "Response": "", "Think": False, "ThinkLevel": "", "IsThinkSet": False}
        return template.execute(data)
    return _render_legacy(template, collated)


def _render_legacy(template: GoTemplate, messages: Sequence[tuple[str, str]]) -> str:
    out: list[str] = []
    system = prompt = response = ""
    for role, content in messages:
        if role == "system":
            if prompt or response:
                out.append(template.execute({"System": system, "Prompt": prompt, "Response": response}))
                system = prompt = response = ""
            system = content
        elif role == "user":
            if response:
                out.append(template.execute({"System": system, "Prompt": prompt, "Response": response}))
                system = prompt = response = ""
            prompt = content
        elif role == "assistant":
            response = content
    cut = GoTemplate(_cut_after_response(template.nodes))
    out.append(cut.execute({"System": system, "Prompt": prompt, "Response": response}))
    return "".join(out)


def _cut_after_response(nodes: tuple[Node, ...]) -> tuple[Node, ...]:
    """Ollama's ``deleteNode``: keep the ``.Response`` field node, delete every node visited after it.

    As in Ollama, branch conditions are not visited: ``{{ if .Response }}`` does not start the cut.
    """
    state = {"cut": False}

    def walk_list(items: Sequence[Node]) -> tuple[Node, ...]:
        kept: list[Node] = []
        for node in items:
            walked = walk(node)
            if walked is not None:
                kept.append(walked)
        return tuple(kept)

    def walk(node: Node) -> Node | None:
        if state["cut"]:
            return None
        if isinstance(node, Branch):
            return Branch(node.kind, node.pipe, walk_list(node.body), walk_list(node.orelse), node.line)
        if isinstance(node, Action):
            pipe = walk_pipe(node.pipe)
            return Action(pipe) if pipe is not None else None
        return node  # text, break, continue

    def walk_pipe(pipe: Pipe) -> Pipe | None:
        cmds: list[Command] = []
        for cmd in pipe.cmds:
            args = []
            for arg in cmd.args:
                if state["cut"]:
                    continue
                if isinstance(arg, Dot) and "Response" in arg.fields:
                    state["cut"] = True
                args.append(arg)
            if not args:
                return None
            cmds.append(Command(tuple(args), cmd.line))
        return Pipe(pipe.decl, pipe.assign, tuple(cmds), pipe.line) if cmds else None

    return walk_list(nodes)


def parse_go(text: str, first_line: int = 1) -> GoTemplate:
    """Parse a Go template whose text starts on ``first_line`` of its file (errors name file lines)."""
    try:
        return GoTemplate.parse(text)
    except GoTemplateError as exc:
        line = None if exc.line is None else exc.line + first_line - 1
        raise GoTemplateError(exc.message, line) from None
