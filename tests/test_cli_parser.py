"""Help that teaches: every option of every subcommand has one line of help with its default, each
subcommand's help ends with two examples, and no reStructuredText reaches the terminal."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

import pytest

from harness.cli import build_parser, main

RST = re.compile(r"``|:class:|:func:|:mod:|:meth:|:attr:|\.\. ")


Parsers = Iterator[tuple[str, argparse.ArgumentParser]]


def parsers(parser: argparse.ArgumentParser, path: str = "harness") -> Parsers:
    """Every parser, nested ones (baseline accept|compare) included, with its command path."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from parsers(sub, f"{path} {name}")


ALL = dict(parsers(build_parser()))


def test_every_subcommand_is_walked() -> None:
    assert set(ALL) == {"harness", "harness init", "harness run", "harness audit", "harness sweep",
                        "harness eval", "harness report", "harness export", "harness baseline",
                        "harness baseline accept", "harness baseline compare"}


@pytest.mark.parametrize("path", sorted(ALL))
def test_every_option_has_one_line_of_help_with_its_default(path: str) -> None:
    for action in ALL[path]._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        where = f"{path} {'/'.join(action.option_strings) or action.dest}"
        assert action.help and action.help.strip(), f"{where}: no help"
        assert "\n" not in action.help, f"{where}: help is more than one line"
        if action.option_strings:  # positionals have no default to state
            assert re.search(r"\((default: [^)]+|required)\)$", action.help), f"{where}: no default named"


@pytest.mark.parametrize("path", sorted(ALL))
def test_every_subcommand_ends_with_two_examples(path: str) -> None:
    text = ALL[path].format_help()
    tail = text.rstrip().split("examples:\n")[-1].splitlines()
    assert "examples:\n" in text and len(tail) == 2, f"{path}: its help does not end with two examples"
    assert all(line.strip().startswith("harness ") for line in tail)
    # each example parses (the files need not exist: argparse only checks the shape)
    for line in tail:
        build_parser().parse_args(line.split()[1:])


@pytest.mark.parametrize("path", sorted(ALL))
def test_no_restructuredtext_in_terminal_help(path: str) -> None:
    assert not RST.search(ALL[path].format_help()), path


def test_help_exits_0_and_prints_the_description(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "harness init" in out and not RST.search(out)
