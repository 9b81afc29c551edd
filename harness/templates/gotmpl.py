"""A pure-Python renderer for the part of Go's text/template that chat templates (Ollama's) use.

``GoTemplate.parse(text)`` parses (a :class:`GoTemplateError` with the line on bad
syntax, an undefined variable or an unknown function); ``.execute(data)`` renders
with Go's semantics: truthiness, ``$`` as the root, variables scoped to the
enclosing ``if``/``range``/``with``, ``range`` over slices (``$i, $e``), maps (in key
order) and integers, missing map keys as ``<no value>``, ``and``/``or`` returning one
of their arguments. No PyPI package does this (the one wrapper found needs Go via CGo),
hence this module; :mod:`harness.templates.gotmpl_parse` and ``gotmpl_funcs`` hold the
grammar and the functions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.templates.gotmpl_funcs import BUILTINS, FUNCTIONS
from harness.templates.gotmpl_lex import GoTemplateError
from harness.templates.gotmpl_parse import (
    Action,
    Branch,
    Command,
    Dot,
    Function,
    Jump,
    Literal,
    Node,
    Operand,
    Pipe,
    SubPipe,
    Text,
    Variable,
    parse,
)
from harness.templates.gotmpl_values import NO_VALUE, Struct, field_of, go_str, is_true

__all__ = ["NO_VALUE", "GoTemplate", "GoTemplateError", "Struct"]

_MISSING = object()


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


@dataclass(frozen=True)
class GoTemplate:
    """A parsed Go template: its node tree, ready to execute on any data."""

    nodes: tuple[Node, ...]

    @classmethod
    def parse(cls, text: str) -> GoTemplate:
        return cls(parse(text, FUNCTIONS))

    def execute(self, data: Any) -> str:
        out: list[str] = []
        _State(data).walk(self.nodes, data, out)
        return "".join(out)

    def identifiers(self) -> set[str]:
        """Every field name the template reads, lower-cased (Ollama's ``Template.Vars``)."""
        return {name.lower() for name in _identifiers(self.nodes)}


class _State:
    def __init__(self, root: Any) -> None:
        self.vars: list[tuple[str, Any]] = [("$", root)]

    # --- statements ---------------------------------------------------------------------------

    def walk(self, nodes: Sequence[Node], dot: Any, out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, Text):
                out.append(node.text)
            elif isinstance(node, Action):
                value = self.pipe(node.pipe, dot)
                if not node.pipe.decl:
                    out.append(go_str(value))
            elif isinstance(node, Branch):
                self.branch(node, dot, out)
            else:
                raise _Break() if node.kind == "break" else _Continue()

    def branch(self, node: Branch, dot: Any, out: list[str]) -> None:
        mark = len(self.vars)
        try:
            if node.kind == "range":
                self.range(node, dot, out)
                return
            value = self.pipe(node.pipe, dot)
            if is_true(value):
                self.walk(node.body, value if node.kind == "with" else dot, out)
            else:
                self.walk(node.orelse, dot, out)
        finally:
            del self.vars[mark:]

    def range(self, node: Branch, dot: Any, out: list[str]) -> None:
        value = self.pipe(Pipe((), False, node.pipe.cmds, node.pipe.line), dot)
        items = list(_iterate(value, node.pipe.line))
        if not items:
            self.walk(node.orelse, dot, out)
            return
        names = node.pipe.decl
        for key, elem in items:
            mark = len(self.vars)
            if len(names) == 1:
                self.vars.append((names[0], elem))
            elif len(names) == 2:
                self.vars += [(names[0], key), (names[1], elem)]
            try:
                self.walk(node.body, elem, out)
            except _Continue:
                pass
            except _Break:
                break
            finally:
                del self.vars[mark:]

    # --- expressions --------------------------------------------------------------------------

    def pipe(self, pipe: Pipe, dot: Any) -> Any:
        value: Any = _MISSING
        for cmd in pipe.cmds:
            value = self.command(cmd, dot, value)
        for name in pipe.decl:
            if pipe.assign:
                self.set_var(name, value, pipe.line)
            else:
                self.vars.append((name, value))
        return value

    def command(self, cmd: Command, dot: Any, final: Any) -> Any:
        first, rest = cmd.args[0], cmd.args[1:]
        if isinstance(first, Function):
            if first.name in ("and", "or"):
                return self.logic(first.name, rest, dot, final, cmd.line)
            args = [self.operand(a, dot, cmd.line) for a in rest]
            if final is not _MISSING:
                args.append(final)
            return BUILTINS[first.name](args, cmd.line)
        if rest or final is not _MISSING:
            raise GoTemplateError(f"can't give argument to non-function {_describe(first)}", cmd.line)
        if isinstance(first, Literal) and first.value is None:
            raise GoTemplateError("nil is not a command", cmd.line)
        return self.operand(first, dot, cmd.line)

    def logic(self, name: str, args: Sequence[Operand], dot: Any, final: Any, line: int) -> Any:
        """``and``/``or``: stop at the first false/true argument and return it (else the last)."""
        items: list[tuple[bool, Any]] = [(False, a) for a in args]
        if final is not _MISSING:
            items.append((True, final))  # the piped value: already evaluated
        if not items:
            raise GoTemplateError(f"wrong number of args for {name}: want at least 1 got 0", line)
        value: Any = None
        for evaluated, item in items:
            value = item if evaluated else self.operand(item, dot, line)
            if is_true(value) == (name == "or"):
                return value
        return value

    def operand(self, node: Operand, dot: Any, line: int) -> Any:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Dot):
            return self.fields(dot, node.fields, line)
        if isinstance(node, Variable):
            return self.fields(self.get_var(node.name, line), node.fields, line)
        if isinstance(node, SubPipe):
            return self.fields(self.pipe(node.pipe, dot), node.fields, line)
        return BUILTINS[node.name]([], line)  # a function as an argument is called without arguments

    @staticmethod
    def fields(value: Any, names: Sequence[str], line: int) -> Any:
        for name in names:
            value = field_of(value, name, line)
        return value

    def get_var(self, name: str, line: int) -> Any:
        for have, value in reversed(self.vars):
            if have == name:
                return value
        raise GoTemplateError(f'undefined variable "{name}"', line)

    def set_var(self, name: str, value: Any, line: int) -> None:
        for k in range(len(self.vars) - 1, -1, -1):
            if self.vars[k][0] == name:
                self.vars[k] = (name, value)
                return
        raise GoTemplateError(f'undefined variable "{name}"', line)


def _iterate(value: Any, line: int) -> Iterator[tuple[Any, Any]]:
    if value is None or value is NO_VALUE:
        return  # a nil slice or map: nothing to range over (not an error in Go)
    if isinstance(value, (list, tuple)):
        yield from enumerate(value)
    elif isinstance(value, Mapping):
        for key in sorted(value):
            yield key, value[key]
    elif isinstance(value, int) and not isinstance(value, bool):
        for i in range(value):
            yield i, i
    else:
        raise GoTemplateError(f"range can't iterate over {go_str(value)}", line)


def _describe(node: Operand) -> str:
    if isinstance(node, Dot):
        return "." + ".".join(node.fields)
    if isinstance(node, Variable):
        return node.name + "".join("." + f for f in node.fields)
    if isinstance(node, Literal):
        return go_str(node.value)
    return "(pipeline)"


def _identifiers(nodes: Sequence[Node]) -> Iterator[str]:
    for node in nodes:
        if isinstance(node, Action):
            yield from _pipe_identifiers(node.pipe)
        elif isinstance(node, Branch):
            yield from _pipe_identifiers(node.pipe)
            yield from _identifiers(node.body)
            yield from _identifiers(node.orelse)
        elif isinstance(node, Jump):
            continue


def _pipe_identifiers(pipe: Pipe) -> Iterator[str]:
    for cmd in pipe.cmds:
        for arg in cmd.args:
            if isinstance(arg, (Dot, Variable)):
                yield from arg.fields
            elif isinstance(arg, SubPipe):
                yield from _pipe_identifiers(arg.pipe)
                yield from arg.fields
