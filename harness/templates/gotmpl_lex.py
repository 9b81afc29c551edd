"""Lexer for Go's text/template syntax: text runs and the tokens inside ``{{ }}`` actions.

Follows ``text/template/parse/lex.go``: ``{{- `` and `` -}}`` trim the whitespace
(space, tab, CR, LF) on their side; ``{{/* */}}`` is a comment; inside an action,
fields (``.Name``), variables (``$name``), identifiers, string, raw-string, char and
number literals, ``|``, ``(``, ``)``, ``,``, ``:=`` and ``=``. Every token carries its
1-based line, so parse errors can name it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LEFT, RIGHT = "{{", "}}"
SPACE = " \t\r\n"


class GoTemplateError(Exception):
    """A Go template that does not parse or cannot execute; ``line`` is 1-based (None: unknown)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.message = message
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # text, field, var, ident, string, number, char, "|", "(", ")", ",", ":=", "=", "eoa"
    value: str
    line: int
    spaced: bool = False  # whitespace came right before it (a field after a space is a new operand)


_NUMBER = re.compile(r"[+-]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|"
                     r"(\d[\d_]*)?\.?\d[\d_]*([eE][+-]?\d+)?)")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a", "b": "\b",
            "f": "\f", "v": "\v"}
_ESCAPE_RE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)", re.S)


def unquote(body: str, line: int) -> str:
    """A Go interpreted string's body (between the quotes) with its escapes decoded."""

    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        if code in _ESCAPES:
            return _ESCAPES[code]
        if code[0] in "xuU":
            return chr(int(code[1:], 16))
        if code[0] in "01234567" and len(code) == 3:
            return chr(int(code, 8))
        raise GoTemplateError(f"invalid escape sequence \\{code} in string", line)

    return _ESCAPE_RE.sub(one, body)


def lex(source: str) -> list[Token]:
    """Text and action tokens of ``source``; an ``eoa`` token closes every action."""
    tokens: list[Token] = []
    pos, line = 0, 1
    while pos < len(source):
        start = source.find(LEFT, pos)
        if start < 0:
            tokens.append(Token("text", source[pos:], line))
            break
        text = source[pos:start]
        inner = start + len(LEFT)
        trim_left = source.startswith("-", inner) and inner + 1 < len(source) and source[inner + 1] in SPACE
        if trim_left:
            text = text.rstrip(SPACE)
            inner += 1
        if text:
            tokens.append(Token("text", text, line))
        line += source.count("\n", pos, inner)
        pos, line, trim_right = _action(source, inner, line, tokens)
        if trim_right:
            stripped = len(source) - len(source[pos:].lstrip(SPACE))
            line += source.count("\n", pos, stripped)
            pos = stripped
    return tokens


def _action(source: str, pos: int, line: int, out: list[Token]) -> tuple[int, int, bool]:
    """Lex one action from just after ``{{`` (and its trim marker); returns (pos, line, trim right)."""
    opened = line
    rest = source[pos:].lstrip(SPACE)
    if rest.startswith("/*"):
        return _comment(source, pos, line)
    spaced = True
    while True:
        if pos >= len(source):
            raise GoTemplateError("unclosed action", opened)
        ch = source[pos]
        if ch in SPACE:
            end = pos
            while end < len(source) and source[end] in SPACE:
                end += 1
            if source.startswith("-" + RIGHT, end) and end > pos:
                line += source.count("\n", pos, end)
                out.append(Token("eoa", "", line))
                return end + 1 + len(RIGHT), line, True
            line += source.count("\n", pos, end)
            pos, spaced = end, True
            continue
        if source.startswith(RIGHT, pos):
            out.append(Token("eoa", "", line))
            return pos + len(RIGHT), line, False
        pos, line = _operand_token(source, pos, line, spaced, out)
        spaced = False


def _comment(source: str, pos: int, line: int) -> tuple[int, int, bool]:
    begin = source.index("/*", pos)
    end = source.find("*/", begin + 2)
    if end < 0:
        raise GoTemplateError("unclosed comment", line)
    line += source.count("\n", pos, end)
    after = end + 2
    if source.startswith(" -" + RIGHT, after):
        return after + 2 + len(RIGHT), line, True
    if source.startswith(RIGHT, after):
        return after + len(RIGHT), line, False
    raise GoTemplateError("comment ends before closing delimiter", line)


def _operand_token(source: str, pos: int, line: int, spaced: bool, out: list[Token]) -> tuple[int, int]:
    ch = source[pos]
    if source.startswith(":=", pos):
        out.append(Token(":=", ":=", line, spaced))
        return pos + 2, line
    if ch in "|(),=":
        out.append(Token(ch, ch, line, spaced))
        return pos + 1, line
    if ch == '"':
        end = pos + 1
        while end < len(source) and source[end] != '"':
            if source[end] == "\n":
                raise GoTemplateError("unterminated quoted string", line)
            end += 2 if source[end] == "\\" else 1
        if end >= len(source):
            raise GoTemplateError("unterminated quoted string", line)
        out.append(Token("string", unquote(source[pos + 1 : end], line), line, spaced))
        return end + 1, line
    if ch == "`":
        end = source.find("`", pos + 1)
        if end < 0:
            raise GoTemplateError("unterminated raw quoted string", line)
        out.append(Token("string", source[pos + 1 : end], line, spaced))
        return end + 1, line + source.count("\n", pos, end)
    if ch == "'":
        m = re.compile(r"'(\\[^']+|[^'\\])'").match(source, pos)
        if not m:
            raise GoTemplateError("malformed character constant", line)
        out.append(Token("char", unquote(m.group(1), line), line, spaced))
        return m.end(), line
    if ch in ".$":
        ident = _IDENT.match(source, pos + 1)
        if ch == "." and (ident is None) and not (pos + 1 < len(source) and source[pos + 1].isdigit()):
            out.append(Token("dot", ".", line, spaced))
            return pos + 1, line
        if ident is not None:
            out.append(Token("field" if ch == "." else "var", source[pos : ident.end()], line, spaced))
            return ident.end(), line
        if ch == "$":
            out.append(Token("var", "$", line, spaced))
            return pos + 1, line
    number = _NUMBER.match(source, pos)
    if number and number.group(0) and number.group(0) not in "+-":
        out.append(Token("number", number.group(0), line, spaced))
        return number.end(), line
    ident = _IDENT.match(source, pos)
    if ident:
        out.append(Token("ident", ident.group(0), line, spaced))
        return ident.end(), line
    raise GoTemplateError(f"unexpected {ch!r} in command", line)
