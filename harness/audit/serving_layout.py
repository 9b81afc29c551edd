"""What a template writes around the contents, read off renders with sentinel contents.

The serving check compares the training and serving renders of one conversation
twice: with the real contents (for the token ids) and with sentinel contents (see
:mod:`harness.audit.template_probe`), whose *skeleton* shows the scaffolding alone:
``gaps[k]`` is what a template writes before turn ``k``'s content, ``tail`` what it
writes after the last one. :class:`Layout` holds, for the training template, the turn
ends and the generation prompt those gaps are judged against, its default system
prompt, and the control markers it writes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.audit.control_tokens import FAMILY_OF, added_control_tokens
from harness.audit.template_probe import SENTINEL_RE, sentinel, turn_end

Render = Callable[[Sequence[tuple[str, str]]], str]  # (role, content) turns -> a rendered prompt
WS = re.compile(r"\s+")


def squash(text: str) -> str:
    """``text`` without any whitespace: two gaps equal after this differ only in whitespace."""
    return WS.sub("", text)


@dataclass(frozen=True)
class Skeleton:
    """A render with sentinel contents, cut at the sentinels."""

    gaps: dict[int, str]  # turn -> the scaffolding written right before its content
    order: tuple[int, ...]  # the turns whose content appears, in order
    tail: str
    starts: dict[int, int]  # turn -> character offset of its gap in the skeleton text
    tail_start: int

    def scaffold(self) -> str:
        return "".join(self.gaps[k] for k in self.order) + self.tail


def skeleton(text: str, bos: str | None) -> Skeleton:
    """Cut a sentinel render into gaps; leading BOS strings are left out."""
    skip = 0
    while bos and text.startswith(bos, skip):  # every leading BOS: BOS is compared as ids
        skip += len(bos)
    gaps: dict[int, str] = {}
    starts: dict[int, int] = {}
    order: list[int] = []
    last = skip
    for m in SENTINEL_RE.finditer(text):
        k = int(m.group(1))
        if k not in gaps:
            gaps[k], starts[k] = text[last : m.start()], last
            order.append(k)
        last = m.end()
    return Skeleton(gaps, tuple(order), text[last:], starts, last)


def sentinel_turns(roles: Sequence[str]) -> list[tuple[str, str]]:
    return [(role, sentinel(k)) for k, role in enumerate(roles)]


@dataclass(frozen=True)
class Layout:
    user_end: str  # what follows a user content before the generation prompt
    generation: str  # the generation prompt (the assistant header training puts before answers)
    assistant_end: str  # what follows an assistant content (the end-of-turn the model learns)
    default_system: str  # the system prompt written when the conversation has none ("" none)
    markers: frozenset[str]  # control markers the scaffolding holds (BOS/EOS left out)


def training_layout(render: Render, closed: Render, tokenizer: object, assistant_end: str) -> Layout:
    """The layout of the training template: ``render`` adds the generation prompt, ``closed`` does not."""
    bos = _text_attr(tokenizer, "bos_token")
    one = sentinel_turns(["user"])
    gen_tail = skeleton(render(one), bos).tail
    closed_tail = skeleton(closed(one), bos).tail
    user_end = turn_end(closed_tail, gen_tail)
    probe = sentinel_turns(["user", "assistant", "user"])
    scaffold = skeleton(render(probe), bos).scaffold()
    return Layout(user_end=user_end, generation=gen_tail[len(user_end):], assistant_end=assistant_end,
                  default_system=default_system(render, bos), markers=markers_in(scaffold, tokenizer))


def default_system(render: Render, bos: str | None) -> str:
    """The system prompt a template writes when the conversation has none ("" when none or unknown).

    With a system turn the scaffolding is ``head + S + between + U``; without one it is
    ``head + DEFAULT + between + U`` when the template injects a default.
    """
    try:
        with_system = skeleton(render(sentinel_turns(["system", "user"])), bos)
        without = skeleton(render(sentinel_turns(["user"])), bos)
    except Exception:  # the template refuses system turns: no default to read off
        return ""
    if 0 not in with_system.gaps or 1 not in with_system.gaps:
        return ""
    head, between, plain = with_system.gaps[0], with_system.gaps[1], without.gaps.get(0, "")
    if len(plain) > len(head) + len(between) and plain.startswith(head) and plain.endswith(between):
        return plain[len(head) : len(plain) - len(between)]
    return ""


def marker_pattern(tokenizer: object) -> re.Pattern[str]:
    """Every control-looking string: the catalog's markers and the tokenizer's added control tokens."""
    known = set(FAMILY_OF) | added_control_tokens(tokenizer)
    known -= {_text_attr(tokenizer, "bos_token"), _text_attr(tokenizer, "eos_token"),
              _text_attr(tokenizer, "pad_token"), _text_attr(tokenizer, "unk_token"), None, ""}
    longest_first = sorted((k for k in known if k), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, longest_first)) if longest_first else "(?!)")


def markers_in(text: str, tokenizer: object, pattern: re.Pattern[str] | None = None) -> frozenset[str]:
    pattern = pattern or marker_pattern(tokenizer)
    return frozenset(m.group(0) for m in pattern.finditer(text))


def _text_attr(tokenizer: object, name: str) -> str | None:
    value = getattr(tokenizer, name, None)
    return value if isinstance(value, str) and value else None
