"""Parser for the subset of Go's text/template that chat templates use: tokens to a node tree.

Supported: text, ``{{ pipeline }}``, ``if``/``else if``/``else``/``end``, ``range``
(with ``$i, $e :=`` and ``else``), ``with`` (and ``else with``), ``break``,
``continue``, variables (``$x := ...``, ``$x = ...``, ``$``), field chains on dot,
variables and parenthesized pipelines, pipelines with ``|``, function calls,
string/number/char/bool/nil literals. ``define``, ``template`` and ``block`` are
refused (no chat template needs them). As in Go, an undefined variable or an unknown
function is a parse error, reported with its line.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from harness.templates.gotmpl_lex import GoTemplateError, Token, lex


@dataclass(frozen=True, slots=True)
class Literal:
    value: object


@dataclass(frozen=True, slots=True)
class Dot:
    fields: tuple[str, ...] = ()  # ".A.B" is Dot(("A", "B")); "." alone is Dot(())


@dataclass(frozen=True, slots=True)
class Variable:
    name: str  # "$" or "$x"
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Function:
    name: str


@dataclass(frozen=True, slots=True)
class SubPipe:
    pipe: Pipe
    fields: tuple[str, ...] = ()


Operand = Literal | Dot | Variable | Function | SubPipe


@dataclass(frozen=True, slots=True)
class Command:
    args: tuple[Operand, ...]
    line: int


@dataclass(frozen=True, slots=True)
class Pipe:
    decl: tuple[str, ...]  # declared or assigned variables
    assign: bool  # "=" (assign existing) rather than ":=" (declare)
    cmds: tuple[Command, ...]
    line: int


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Action:
    pipe: Pipe


@dataclass(frozen=True, slots=True)
class Branch:
    kind: str  # "if", "range", "with"
    pipe: Pipe
    body: tuple[Node, ...]
    orelse: tuple[Node, ...]
    line: int


@dataclass(frozen=True, slots=True)
class Jump:
    kind: str  # "break" or "continue"
    line: int


Node = Text | Action | Branch | Jump
_KEYWORDS = {"if", "else", "end", "range", "with", "break", "continue", "define", "template", "block"}
_CONSTANTS: dict[str, object] = {"true": True, "false": False, "nil": None}


@dataclass
class _Parser:
    tokens: list[Token]
    functions: Collection[str]
    pos: int = 0
    scopes: list[list[str]] = field(default_factory=lambda: [["$"]])
    loops: int = 0

    def peek(self) -> Token:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else Token("eof", "", self._last_line())

    def next(self) -> Token:
        tok = self.peek()
        self.pos += 1
        return tok

    def _last_line(self) -> int:
        return self.tokens[-1].line if self.tokens else 1

    def expect(self, kind: str, context: str) -> Token:
        tok = self.next()
        if tok.kind != kind:
            raise GoTemplateError(f"unexpected {_show(tok)} in {context}", tok.line)
        return tok

    # --- lists and control structures ------------------------------------------------------

    def parse_list(self, ends: Collection[str]) -> tuple[list[Node], str, Token]:
        """Nodes up to one of ``ends`` ("end", "else", "eof"); returns (nodes, which end, its token)."""
        nodes: list[Node] = []
        while True:
            tok = self.peek()
            if tok.kind == "eof":
                if "eof" in ends:
                    return nodes, "eof", tok
                raise GoTemplateError("unexpected EOF: an action was not closed with {{end}}", tok.line)
            if tok.kind == "text":
                self.next()
                nodes.append(Text(tok.value))
                continue
            word = tok  # the first token of an action
            if word.kind == "ident" and word.value in _KEYWORDS:
                self.next()
                if word.value in ("end", "else"):
                    if word.value not in ends:
                        raise GoTemplateError(f"unexpected {{{{{word.value}}}}}", word.line)
                    return nodes, word.value, word
                nodes.append(self.control(word))
                continue
            nodes.append(Action(self.pipeline("command", declare=True)))

    def control(self, word: Token) -> Node:
        if word.value in ("break", "continue"):
            if not self.loops:
                raise GoTemplateError(f"{{{{{word.value}}}}} outside {{{{range}}}}", word.line)
            self.expect("eoa", word.value)
            return Jump(word.value, word.line)
        if word.value not in ("if", "range", "with"):
            raise GoTemplateError(f"{{{{{word.value}}}}} is not supported in chat templates", word.line)
        return self.branch(word.value, word.line)

    def branch(self, kind: str, line: int) -> Branch:
        """An if/range/with from after its keyword to its {{end}} (shared by an {{else if}} chain)."""
        self.scopes.append([])
        pipe = self.pipeline(kind, declare=True, range_decl=kind == "range")
        self.loops += kind == "range"
        body, how, _ = self.parse_list(("end", "else"))
        self.loops -= kind == "range"
        orelse: list[Node] = []
        nxt = self.peek()
        if how == "else" and nxt.kind == "ident" and nxt.value == kind and kind in ("if", "with"):
            self.next()  # {{else if ...}} / {{else with ...}}: a nested branch that consumes our {{end}}
            orelse = [self.branch(kind, nxt.line)]
        elif how == "else":
            self.expect("eoa", "else")
            orelse, _, _ = self.parse_list(("end",))
            self.expect("eoa", "end")
        else:
            self.expect("eoa", "end")
        self.scopes.pop()
        return Branch(kind, pipe, tuple(body), tuple(orelse), line)

    # --- pipelines and operands ------------------------------------------------------------

    def pipeline(self, context: str, *, declare: bool, range_decl: bool = False) -> Pipe:
        line = self.peek().line
        decl, assign = self.declaration(range_decl) if declare else ((), False)
        cmds: list[Command] = []
        while True:
            cmds.append(self.command(context))
            tok = self.next()
            if tok.kind == "|":
                continue
            if tok.kind in ("eoa", ")"):
                if tok.kind == ")" and context != "parenthesized pipeline":
                    raise GoTemplateError(f"unexpected ) in {context}", tok.line)
                if tok.kind == "eoa" and context == "parenthesized pipeline":
                    raise GoTemplateError("unclosed left paren", tok.line)
                break
            raise GoTemplateError(f"unexpected {_show(tok)} in {context}", tok.line)
        for name in decl:
            if not assign:
                self.scopes[-1].append(name)
        return Pipe(tuple(decl), assign, tuple(cmds), line)

    def declaration(self, range_decl: bool) -> tuple[tuple[str, ...], bool]:
        """``$x :=``, ``$x =`` or (range) ``$i, $e :=`` at the start of a pipeline, else nothing."""
        start = self.pos
        names: list[str] = []
        while self.peek().kind == "var" and self.peek().value != "$":
            names.append(self.next().value)
            if self.peek().kind == "," and range_decl and len(names) == 1:
                self.next()
                continue
            break
        tok = self.peek()
        if names and tok.kind in (":=", "="):
            self.next()
            assign = tok.kind == "="
            if assign:
                for name in names:
                    self.lookup(name, tok.line)
            return tuple(names), assign
        if len(names) > 1:
            raise GoTemplateError("range can only initialize variables with :=", tok.line)
        self.pos = start
        return (), False

    def lookup(self, name: str, line: int) -> None:
        if not any(name in scope for scope in self.scopes):
            raise GoTemplateError(f'undefined variable "{name}"', line)

    def command(self, context: str) -> Command:
        line = self.peek().line
        args: list[Operand] = []
        while self.peek().kind not in ("eoa", "|", ")", "eof"):
            args.append(self.operand())
        if not args:
            raise GoTemplateError(f"missing value for {context}", line)
        return Command(tuple(args), line)

    def operand(self) -> Operand:
        tok = self.next()
        base: Operand
        if tok.kind == "field":
            base = Dot((tok.value[1:],))
        elif tok.kind == "dot":
            base = Dot(())
        elif tok.kind == "var":
            self.lookup(tok.value, tok.line)
            base = Variable(tok.value)
        elif tok.kind == "(":
            base = SubPipe(self.pipeline("parenthesized pipeline", declare=False))
        elif tok.kind == "string":
            base = Literal(tok.value)
        elif tok.kind == "char":
            base = Literal(ord(tok.value))
        elif tok.kind == "number":
            base = Literal(_number(tok))
        elif tok.kind == "ident" and tok.value in _CONSTANTS:
            base = Literal(_CONSTANTS[tok.value])
        elif tok.kind == "ident" and tok.value not in _KEYWORDS:
            if tok.value not in self.functions:
                raise GoTemplateError(f'function "{tok.value}" not defined', tok.line)
            base = Function(tok.value)
        else:
            raise GoTemplateError(f"unexpected {_show(tok)} in operand", tok.line)
        return self.chain(base)

    def chain(self, base: Operand) -> Operand:
        """Field accesses glued to an operand without a space: ``$x.Role``, ``(index .M 0).Content``."""
        extra: list[str] = []
        while self.peek().kind == "field" and not self.peek().spaced:
            extra.append(self.next().value[1:])
        if not extra:
            return base
        if isinstance(base, Dot):
            return Dot(base.fields + tuple(extra))
        if isinstance(base, Variable):
            return Variable(base.name, base.fields + tuple(extra))
        if isinstance(base, SubPipe):
            return SubPipe(base.pipe, base.fields + tuple(extra))
        raise GoTemplateError(f"unexpected .{extra[0]} after a {type(base).__name__.lower()}",
                              self.tokens[self.pos - 1].line)


def _number(tok: Token) -> int | float:
    text = tok.value.replace("_", "")
    try:
        if text.lower().lstrip("+-").startswith(("0x", "0o", "0b")):
            return int(text, 0)
        if any(c in text for c in ".eE"):
            return float(text)
        return int(text, 10) if not (text.lstrip("+-").startswith("0") and len(text.lstrip("+-")) > 1) \
            else int(text, 8)
    except ValueError:
        raise GoTemplateError(f"bad number syntax: {tok.value!r}", tok.line) from None


def _show(tok: Token) -> str:
    names = {"eoa": '"}}"', "eof": "EOF", "text": "text"}
    return names.get(tok.kind, f"{tok.value!r}")


def parse(source: str, functions: Collection[str]) -> tuple[Node, ...]:
    """The node tree of ``source``; ``functions`` are the names a command may call."""
    parser = _Parser(lex(source), functions)
    nodes, _, _ = parser.parse_list(("eof",))
    return tuple(nodes)
