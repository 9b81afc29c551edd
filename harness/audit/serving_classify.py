"""Why a serving render differs from the training render: the families of difference, per conversation.

For one conversation (ending with a user turn) :func:`classify` gets both renders
with real contents (text and ids) and with sentinel contents (skeletons), and
names each difference, in this order:

* ``wrong_family``: the scaffolding shares no control marker with training's
  (ChatML ``<|im_start|>`` against Llama 3 ``<|start_header_id|>``); nothing else
  is reported for that conversation, everything differs;
* ``bos_doubled`` / ``bos_missing``: more / fewer leading BOS ids than training;
* ``system_prompt_dropped``: a system turn training renders is absent, or the default
  system prompt the training template writes is; ``system_prompt_added``: the server
  writes a default system prompt (a Modelfile's ``SYSTEM``) training never had;
* per gap of scaffolding: ``whitespace`` (equal once whitespace is removed),
  ``missing_end_of_turn`` (the gap does not open with training's end of the previous
  turn), ``missing_generation_prompt`` (the last gap does not end with training's
  generation prompt), ``turn_header`` (a role header differs within one family);
* when none of these explains differing ids: ``whitespace`` if the texts are equal but
  for whitespace (a template that trims contents), else ``other``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.audit.serving_layout import Layout, Skeleton, squash
from harness.audit.template_probe import sentinel
from harness.data.record import ASSISTANT, SYSTEM, USER

FAMILIES: tuple[str, ...] = (
    "wrong_family", "bos_doubled", "bos_missing", "system_prompt_dropped", "system_prompt_added",
    "missing_end_of_turn", "missing_generation_prompt", "whitespace", "turn_header", "render_error", "other",
)


@dataclass(frozen=True)
class Side:
    """One render of a conversation: text, ids (with character offsets) and its skeleton."""

    text: str
    ids: list[int]
    offsets: list[tuple[int, int]]
    skeleton: Skeleton
    markers: frozenset[str]
    body: str = ""  # the text without its leading BOS strings (BOS is compared as ids)


@dataclass(frozen=True)
class Difference:
    family: str
    char: tuple[int, int]  # where it starts in the training / serving text
    why: str  # one line on what differs
    token: tuple[int, int] | None = None  # the differing token positions, when known without ``char``


@dataclass(frozen=True)
class Unit:
    """A conversation cut before an assistant answer: what a server renders to get that answer."""

    roles: tuple[str, ...]
    contents: tuple[str, ...]
    label: str  # "train#12" or "probe:<name>"
    index: int | None  # the train row, None for probes


def classify(unit: Unit, t: Side, s: Side, layout: Layout, serving_default: str, bos_id: int | None
             ) -> list[Difference]:
    """The differences between the training render ``t`` and the serving render ``s``."""
    if t.ids == s.ids:
        return []
    first = _common(t.ids, s.ids)
    if t.markers and not t.markers & s.markers:
        why = f"training's markers {sorted(t.markers)}, the server's {sorted(s.markers) or 'none'}"
        return [Difference("wrong_family", _first_char_diff(t.text, s.text), why, (first, first))]
    found: list[Difference] = []
    lead_t, lead_s = _leading(t.ids, bos_id), _leading(s.ids, bos_id)
    if lead_t != lead_s:
        family = "bos_doubled" if lead_s > lead_t else "bos_missing"
        k = min(lead_t, lead_s)
        found.append(Difference(family, (0, 0), f"{lead_t} leading BOS in training, {lead_s} served", (k, k)))
    system = _system(unit, t, s, layout, serving_default)
    found += system
    found += _gaps(unit, t, s, layout, skip_system=bool(system))
    if not [d for d in found if not d.family.startswith("bos_")] and t.ids[lead_t:] != s.ids[lead_s:]:
        at = _first_char_diff(t.text, s.text)
        if squash(t.body) == squash(s.body):
            found.append(Difference("whitespace", at, "the texts differ in whitespace only (contents)",
                                    (first, first)))
        else:
            found.append(Difference("other", at, "the renders differ", (first, first)))
    return found


def _leading(ids: Sequence[int], bos_id: int | None) -> int:
    n = 0
    while bos_id is not None and n < len(ids) and ids[n] == bos_id:
        n += 1
    return n


def _system(unit: Unit, t: Side, s: Side, layout: Layout, serving_default: str) -> list[Difference]:
    out: list[Difference] = []
    systems = [k for k, role in enumerate(unit.roles) if role == SYSTEM]
    lost = [k for k in systems if k in t.skeleton.gaps and k not in s.skeleton.gaps]
    if lost:
        k = lost[0]
        first = s.skeleton.order[0] if s.skeleton.order else len(unit.roles)
        out.append(Difference("system_prompt_dropped", (_real(t, unit, k), _real(s, unit, first)),
                              f"system turn {k} is rendered in training, not by the server"))
    if systems:
        return out
    if layout.default_system and layout.default_system not in s.text:
        at = t.text.find(layout.default_system)
        out.append(Difference("system_prompt_dropped", (max(at, 0), _first_char_diff(t.text, s.text)[1]),
                              f"training writes the default system prompt {layout.default_system!r}; "
                              "the server does not"))
    if serving_default and serving_default not in t.text:
        at = s.text.find(serving_default)
        out.append(Difference("system_prompt_added", (_first_char_diff(t.text, s.text)[0], max(at, 0)),
                              f"the server writes the system prompt {serving_default!r}; training "
                              "never did"))
    return out


def _gaps(unit: Unit, t: Side, s: Side, layout: Layout, *, skip_system: bool) -> list[Difference]:
    out: list[Difference] = []
    first_chat = next((k for k, r in enumerate(unit.roles) if r != SYSTEM), None)
    for k in t.skeleton.order:
        if k not in s.skeleton.gaps or unit.roles[k] == SYSTEM:
            continue
        prev = unit.roles[k - 1] if k else None
        if skip_system and (prev == SYSTEM or k == first_chat):
            continue  # the system block's own difference is reported above
        gaps = (t.skeleton.gaps[k], s.skeleton.gaps[k])
        diff = _gap(*gaps, prev, layout, tail=False)
        if diff is not None:
            out.append(_place(diff, unit, t, s, gaps, k))
    if unit.roles and unit.roles[-1] != SYSTEM:
        gaps = (t.skeleton.tail, s.skeleton.tail)
        diff = _gap(*gaps, unit.roles[-1], layout, tail=True)
        if diff is not None:
            out.append(_place(diff, unit, t, s, gaps, len(unit.roles)))
    return out


def _gap(gt: str, gs: str, prev: str | None, layout: Layout, *, tail: bool) -> tuple[str, str] | None:
    if gt == gs:
        return None
    if squash(gt) == squash(gs):
        return "whitespace", f"{gt!r} in training, {gs!r} served: whitespace only"
    if prev is None:
        return "turn_header", f"the conversation opens with {gt!r} in training, {gs!r} served"
    end = layout.user_end if prev == USER else layout.assistant_end if prev == ASSISTANT else ""
    if squash(end) and not squash(gs).startswith(squash(end)):
        article = "an" if prev == ASSISTANT else "a"
        return "missing_end_of_turn", (f"{article} {prev} turn ends with {end!r} in training; the server "
                                       f"writes {gs!r}")
    if tail and squash(layout.generation) and not squash(gs).endswith(squash(layout.generation)):
        return "missing_generation_prompt", (f"training ends the prompt with the generation prompt "
                                             f"{layout.generation!r}; the server ends with {gs!r}")
    return "turn_header", f"{gt!r} in training, {gs!r} served"


def _place(diff: tuple[str, str], unit: Unit, t: Side, s: Side, gaps: tuple[str, str], k: int
           ) -> Difference:
    """A gap difference at its place in the real texts: where the two gaps start to differ."""
    family, why = diff
    inside = _common(*gaps)
    return Difference(family, (_real(t, unit, k) + inside, _real(s, unit, k) + inside), why)


def _real(side: Side, unit: Unit, k: int) -> int:
    """Where gap ``k`` (``len(roles)``: the tail) starts in the real text: its skeleton offset moved
    by the real contents written before it (exact when the template writes contents verbatim)."""
    sk = side.skeleton
    start = sk.starts.get(k, sk.tail_start) if k < len(unit.roles) else sk.tail_start
    before = sk.order if k >= len(unit.roles) else sk.order[: sk.order.index(k)] if k in sk.order else ()
    shift = sum(len(unit.contents[j]) - len(sentinel(j)) for j in before)
    return max(0, min(len(side.text), start + shift))


def _common(a: Sequence[object], b: Sequence[object]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _first_char_diff(a: str, b: str) -> tuple[int, int]:
    n = _common(a, b)
    return n, n

