"""The Go text/template renderer: Go's semantics on the constructs chat templates use, and its errors."""

from __future__ import annotations

from typing import Any

import pytest

from harness.templates.gotmpl import NO_VALUE, GoTemplate, GoTemplateError, Struct


def run(source: str, data: Any = None) -> str:
    return GoTemplate.parse(source).execute({} if data is None else data)


def msg(role: str, content: str) -> Struct:
    return Struct("api.Message", {"Role": role, "Content": content})


@pytest.mark.parametrize(("source", "expected"), [
    ("a  {{- 1 -}}  b", "a1b"),
    ("a \n{{- /* gone */ -}}\n b", "ab"),
    ("a{{/* c */}}b", "ab"),
    ("x{{-1}}", "x-1"),  # "{{-1" is the number -1, not a trim marker (Go needs a space after "-")
    ("{{ if 0 }}t{{ else if \"\" }}e{{ else }}z{{ end }}", "z"),
    ("{{ if .L }}yes{{ end }}{{ if .E }}no{{ end }}", "yes"),
    ("{{ range $i, $e := .L }}{{ $i }}={{ $e }};{{ end }}", "0=a;1=b;"),
    ("{{ range $e := .L }}{{ $e }}{{ end }}", "ab"),  # one variable: the element, as in Go
    ("{{ range .E }}x{{ else }}empty{{ end }}", "empty"),
    ("{{ range .M }}{{ . }}{{ end }}", "12"),  # maps range in key order
    ("{{ range 3 }}{{ . }}{{ end }}", "012"),
    ("{{ range .N }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ if eq . 4 }}{{ break }}{{ end }}"
     "{{ . }}{{ end }}",
     "13"),
    ("{{ with .S }}[{{ . }}]{{ else }}none{{ end }}", "[s]"),
    ("{{ with .E }}x{{ else with .S }}{{ . }}{{ end }}", "s"),
    ("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ end }}{{ $x }}", "2"),
    ("{{ range .L }}{{ $.S }}{{ end }}", "ss"),
    ("{{ .Missing }}|{{ index .M \"nope\" }}", "<no value>|<nil>"),
    ("{{ 7 | printf \"%s-%d\" .S | len }}", "3"),  # the piped value is the last argument
    ("{{ print 1 2 \"a\" 3 \"b\" }}", "1 2a3b"),
    ("{{ printf \"%q %v %5s|%-3d|\" \"x\" true \"ab\" 4 }}", '"x" true    ab|4  |'),
    ("{{ println 1 \"a\" }}", "1 a\n"),
    ("{{ and 1 \"\" (index .L 9) }}|{{ or 0 \"\" \"z\" }}|{{ and 1 2 }}", "|z|2"),  # short-circuit
    ("{{ not .E }}{{ not .L }}", "truefalse"),
    ("{{ eq .S \"x\" \"s\" }}{{ ne 1 2 }}{{ lt 1 2 }}{{ le 2 2 }}{{ gt \"b\" \"a\" }}{{ ge 1 2 }}",
     "truetruetruetruetruefalse"),
    ("{{ len \"é\" }} {{ slice \"abc\" 1 }} {{ slice .L 1 2 }} {{ index .L 1 }}", "2 bc [b] b"),
    ("{{ html \"<a href='x'>&\" }}", "&lt;a href=&#39;x&#39;&gt;&amp;"),
    ("{{ json .J }}", '{"a":"\\u003cb\\u003e","n":[1,2]}'),
    ("{{ 1.5 }} {{ 1e6 }} {{ 0x1F }} {{ 'a' }} {{ `raw\\n` }} {{ \"tab\\tq\\\"\" }}",
     '1.5 1e+06 31 97 raw\\n tab\tq"'),
    ("{{ (index .Msgs 0).Role }}/{{ $m := index .Msgs 1 }}{{ $m.Content }}", "user/yo"),
])
def test_go_semantics(source: str, expected: str) -> None:
    data = {"L": ["a", "b"], "E": [], "M": {"b": 2, "a": 1}, "N": [1, 2, 3, 4, 5], "S": "s",
            "J": {"a": "<b>", "n": [1, 2]}, "Msgs": [msg("user", "hi"), msg("assistant", "yo")]}
    assert run(source, data) == expected


def test_ollama_last_message_idiom() -> None:
    source = ('{{- range $i, $_ := .Messages }}{{- $last := eq (len (slice $.Messages $i)) 1 -}}'
              "{{ .Role }}{{ if $last }}!{{ else }},{{ end }}{{ end }}")
    messages = [msg("user", "a"), msg("assistant", "b"), msg("user", "c")]
    assert run(source, {"Messages": messages}) == "user,assistant,user!"


def test_truthiness_follows_go() -> None:
    cases = {"0": False, "1": True, "0.0": False, '""': False, '"0"': True, "true": True}
    for literal, truth in cases.items():
        assert run(f"{{{{ if {literal} }}}}T{{{{ else }}}}F{{{{ end }}}}") == ("T" if truth else "F")
    assert run("{{ if .X }}T{{ end }}", {"X": Struct("s", {})}) == "T"  # a struct is always true
    assert run("{{ if .X }}T{{ else }}F{{ end }}", {"X": {}}) == "F"
    assert run("{{ if .Nope }}T{{ else }}F{{ end }}") == "F"  # a missing key (nil) is false
    assert repr(NO_VALUE) == "<no value>"
    with pytest.raises(GoTemplateError, match="nil is not a command"):
        run("{{ if nil }}{{ end }}")


@pytest.mark.parametrize(("source", "line", "fragment"), [
    ("a\n{{ if .X }}b", 2, "unexpected EOF"),
    ("{{ end }}", 1, "unexpected {{end}}"),
    ("x\n\n{{ $y }}", 3, 'undefined variable "$y"'),
    ("{{ if true }}{{ $z := 1 }}{{ end }}\n{{ $z }}", 2, 'undefined variable "$z"'),  # scoped to if
    ("\n{{ nosuch 1 }}", 2, 'function "nosuch" not defined'),
    ('{{ .A "open }}', 1, "unterminated quoted string"),
    ("{{ break }}", 1, "outside {{range}}"),
    ('{{ define "x" }}{{ end }}', 1, "not supported"),
    ("{{ .A\n}", 2, "unexpected '}'"),
    ("x\n{{ .A\n", 2, "unclosed action"),
    ("{{ }}", 1, "missing value"),
    ("{{ (1 }}", 1, "unclosed left paren"),
    ("{{/* open", 1, "unclosed comment"),
])
def test_parse_errors_name_the_line(source: str, line: int, fragment: str) -> None:
    with pytest.raises(GoTemplateError) as info:
        GoTemplate.parse(source)
    assert info.value.line == line
    assert fragment in info.value.message


@pytest.mark.parametrize(("source", "fragment"), [
    ("\n{{ .M.Nope }}", "can't evaluate field Nope in type *api.Message"),
    ("{{ .Missing.Field }}", "nil pointer evaluating"),
    ('{{ eq 1 "a" }}', "incompatible types for comparison"),
    ("{{ lt true false }}", "invalid type for comparison"),
    ("{{ index .L 5 }}", "index out of range"),
    ("{{ .S 1 }}", "can't give argument to non-function"),
    ("{{ range .S }}{{ end }}", "range can't iterate over s"),
])
def test_execution_errors(source: str, fragment: str) -> None:
    data = {"M": msg("user", "x"), "L": [1], "S": "s"}
    with pytest.raises(GoTemplateError) as info:
        run(source, data)
    assert fragment in info.value.message


def test_identifiers_are_the_fields_read() -> None:
    t = GoTemplate.parse("{{ if .System }}{{ .System }}{{ end }}{{ range $m := .Messages }}{{ $m.Role }}"
                         "{{ (index $.Tools 0).Name }}{{ end }}")
    assert t.identifiers() == {"system", "messages", "role", "tools", "name"}
