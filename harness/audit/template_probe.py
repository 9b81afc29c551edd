"""What a chat template does, learned once by rendering probe conversations with sentinel contents.

Sentinels are private-use characters around a turn number (``\\ue000 3 \\ue001``):
no template transforms them and no real text contains them, so their positions
in a rendering show exactly where each turn's content went and what the template
wrote around it. The same trick, applied to every record, gives
:func:`skeleton_regions`: the character region of each turn's content in the
real rendering, found without searching for the content itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.data.labels import RenderError, render
from harness.data.record import ASSISTANT, SYSTEM, USER, Record

SENTINEL_RE = re.compile("\ue000(\\d+)\ue001")


def sentinel(k: int) -> str:
    return f"\ue000{k}\ue001"


@dataclass(frozen=True)
class TemplateProfile:
    """How the template lays out turns (strings are what it writes around contents)."""

    system: str  # "supported", "dropped" (silently), "raises", or "unknown" (nothing renders)
    system_error: str | None
    renders: bool  # a plain user/assistant/user/assistant conversation renders at all
    turn_end: str  # written right after an assistant content, before the next turn's header
    user_header: str  # written before a user content (after the previous turn's end)
    assistant_header: str  # written between a user content and the assistant content
    pre_content: tuple[str, ...]  # extra text a template writes inside an assistant turn before
    #                               the content (Qwen3's empty <think> block); "" when none
    writes_bos: bool
    error: str | None = None


def probe_template(tokenizer: Any) -> TemplateProfile:
    """Render probe conversations (sentinel contents) and read the template's layout off them."""
    system, system_error = _probe_system(tokenizer)
    convo = [{"role": role, "content": sentinel(k)}
             for k, role in enumerate((USER, ASSISTANT, USER, ASSISTANT))]
    try:
        text = render(tokenizer, convo)
        prompt = render(tokenizer, convo[:1], add_generation_prompt=True)
    except RenderError as exc:
        # A template that cannot render a plain conversation says nothing about system turns.
        return TemplateProfile(system="unknown", system_error=None, renders=False, turn_end="",
                               user_header="", assistant_header="", pre_content=("",),
                               writes_bos=False, error=str(exc))
    cuts = [(m.start(), m.end(), int(m.group(1))) for m in SENTINEL_RE.finditer(text)]
    pos = {k: (s, e) for s, e, k in cuts}
    if sorted(pos) != [0, 1, 2, 3]:
        return TemplateProfile(system=system, system_error=system_error, renders=False, turn_end="",
                               user_header="", assistant_header="", pre_content=("",),
                               writes_bos=False, error="the template drops user or assistant turns")
    gaps = [text[pos[k][1] : pos[k + 1][0]] for k in range(3)] + [text[pos[3][1] :]]
    end = turn_end(gaps[1], gaps[3])
    generation = prompt[pos[0][1] :] if prompt.startswith(text[: pos[0][1]]) else gaps[0]
    pre = tuple(dict.fromkeys(g[len(generation):] if g.startswith(generation) else ""
                              for g in (gaps[0], gaps[2])))
    bos = getattr(tokenizer, "bos_token", None)
    return TemplateProfile(system=system, system_error=system_error, renders=True, turn_end=end,
                           user_header=gaps[1][len(end):], assistant_header=gaps[0],
                           pre_content=pre, writes_bos=bool(bos) and text.startswith(str(bos)))


def _probe_system(tokenizer: Any) -> tuple[str, str | None]:
    convo = [{"role": SYSTEM, "content": sentinel(9)}, {"role": USER, "content": sentinel(0)},
             {"role": ASSISTANT, "content": sentinel(1)}]
    try:
        text = render(tokenizer, convo)
    except RenderError as exc:
        return "raises", str(exc)
    return ("supported" if sentinel(9) in text else "dropped"), None


def turn_end(between: str, closing: str) -> str:
    """What follows an assistant content in both places: before the next user turn and at the end.

    The two differ where the next header starts (Phi-3: ``<|end|>\\n<|user|>`` vs
    ``<|end|>\\n<|endoftext|>`` share ``<|end|>\\n<|``); the turn end stops at the last newline
    or ``>``/``]`` inside the shared part, so a marker is never cut in two.
    """
    n = 0
    limit = min(len(between), len(closing))
    while n < limit and between[n] == closing[n]:
        n += 1
    if n in (len(between), len(closing)):
        return between[:n]
    cut = max(between.rfind("\n", 0, n), between.rfind(">", 0, n), between.rfind("]", 0, n))
    return between[: cut + 1] if cut >= 0 else ""


@dataclass(frozen=True)
class Regions:
    """Where each turn's content sits in a record's rendering (None: the template dropped it)."""

    spans: tuple[tuple[int, int] | None, ...]
    exact: bool  # from the sentinel skeleton; False: found by searching for the content
    dropped: tuple[int, ...]  # turns whose content the template did not write


def skeleton_messages(record: Record) -> list[dict[str, str]]:
    """The record's turns with sentinel contents (render them, then call :func:`skeleton_regions`)."""
    return [{"role": t.role, "content": sentinel(k)} for k, t in enumerate(record.turns)]


def skeleton_regions(record: Record, text: str, skeleton: str | RenderError) -> Regions:
    """Map each sentinel of the rendered skeleton onto the record's real rendering ``text``."""
    if isinstance(skeleton, RenderError):
        return _search_regions(record, text, dropped=())
    present = {int(m.group(1)) for m in SENTINEL_RE.finditer(skeleton)}
    dropped = tuple(k for k in range(len(record.turns)) if k not in present)
    contents = [t.content for t in record.turns]
    for variant in (contents, [c.strip() for c in contents]):  # as is, then trimmed (Gemma, Llama 3)
        spans = _substitute(skeleton, variant, text)
        if spans is not None:
            return Regions(tuple(spans), exact=True, dropped=dropped)
    return _search_regions(record, text, dropped=dropped)


def _substitute(skeleton: str, contents: Sequence[str], text: str) -> list[tuple[int, int] | None] | None:
    spans: list[tuple[int, int] | None] = [None] * len(contents)
    out: list[str] = []
    size = 0
    last = 0
    for m in SENTINEL_RE.finditer(skeleton):
        k = int(m.group(1))
        if k >= len(contents):
            return None
        piece = skeleton[last : m.start()]
        out.append(piece)
        size += len(piece)
        if spans[k] is None:
            spans[k] = (size, size + len(contents[k]))
        out.append(contents[k])
        size += len(contents[k])
        last = m.end()
    out.append(skeleton[last:])
    return spans if "".join(out) == text else None


def _search_regions(record: Record, text: str, dropped: tuple[int, ...]) -> Regions:
    spans: list[tuple[int, int] | None] = []
    cursor = 0
    for k, turn in enumerate(record.turns):
        needle = turn.content.strip()
        at = text.find(needle, cursor) if needle and k not in dropped else -1
        if at < 0:
            spans.append(None)
            continue
        spans.append((at, at + len(needle)))
        cursor = at + len(needle)
    return Regions(tuple(spans), exact=False, dropped=dropped)
