"""Planted serving mismatches: serving templates with one known defect each, and the recall measurement.

For a :class:`~harness.testing.serving_families.Family`, :func:`planted_cases` builds
serving templates (Ollama Modelfiles from one changed piece, and real Jinja
templates) each expected to show one family of difference; :func:`matching_cases`
the templates that must show none (the hand-written Modelfiles in
``tests/fixtures/serving``, the one assembled from the unchanged pieces, and the
training template itself as a Jinja file). :func:`measure` runs the serving check on
each and returns recall per class, counted two ways: per planted template (the class
is reported at all) and per conversation (of the conversations whose ids differ,
those the class is reported for), and the findings on matching templates (false
alarms). Only tests and benchmarks import this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.audit.serving_template import compare_units, serving_template_audit
from harness.data.record import Record
from harness.templates.serving import ServingTemplate, load_serving_template, serving_from_text
from harness.testing.serving_families import FAMILIES, Family, Pieces, modelfile

CLASSES = ("wrong_family", "missing_generation_prompt", "system_prompt_dropped", "bos_doubled",
           "missing_end_of_turn", "whitespace")
# Matching hand-written templates per family (tests/fixtures/serving).
FIXTURES: dict[str, tuple[str, ...]] = {
    "chatml": ("qwen2.5.Modelfile",), "chatml-plain": ("chatml.gotmpl", "chatml-legacy.gotmpl"),
    "llama3": ("llama3.Modelfile",), "mistral": ("mistral.Modelfile",), "phi3": ("phi3.Modelfile",),
    "gemma": ("gemma2.Modelfile",),
}
# Real templates of the same family that drop system turns (or a default system prompt).
SYSTEM_DROPPING = {"chatml": "ollama:chatml:6", "phi3": "phi-3-medium-instruct"}
_GENERATION_BLOCK = re.compile(r"\{%-?\s*if add_generation_prompt\s*-?%\}.*?\{%-?\s*endif\s*-?%\}", re.S)


@dataclass(frozen=True)
class Case:
    label: str
    serving: ServingTemplate
    expected: str | None  # the planted class; None for a matching template


@dataclass(frozen=True)
class Measurement:
    cases: dict[str, int]  # class -> planted templates
    detected: dict[str, int]  # class -> planted templates where it was reported
    conversations: dict[str, int]  # class -> conversations whose ids differ, planted templates
    flagged: dict[str, int]  # class -> of those, conversations the class was reported for
    missed: dict[str, list[str]]  # class -> labels of planted templates it was not reported for
    no_effect: list[str]  # planted templates that change no token (and no stop): not mismatches
    unrenderable: list[str]  # planted templates that fail on every conversation (render_error only)
    confusion: dict[str, dict[str, int]]  # class -> other classes reported on its templates (count)
    matching: int  # matching templates checked
    false_alarms: int  # findings on matching templates
    false_alarm_labels: list[str] = field(default_factory=list)

    def recall(self) -> dict[str, float]:
        return {c: round(self.detected.get(c, 0) / n, 4) for c, n in sorted(self.cases.items()) if n}

    def conversation_recall(self) -> dict[str, float]:
        return {c: round(self.flagged.get(c, 0) / n, 4) for c, n in sorted(self.conversations.items()) if n}


def _go(pieces: Pieces, label: str) -> ServingTemplate:
    return serving_from_text(modelfile(pieces, name=label), "modelfile", f"<{label}>")


def _jinja(text: str, label: str) -> ServingTemplate:
    return serving_from_text(text, "jinja", f"<{label}>")


def _trailing_ws_swapped(text: str) -> str:
    """``text`` with its trailing whitespace changed (removed, or a space added when there is none)."""
    stripped = text.rstrip()
    return stripped if stripped != text else text + " "


def matching_cases(family: Family, templates: Mapping[str, str], fixtures: Path) -> list[Case]:
    out = [Case(f"{family.name}:fixture:{name}", load_serving_template(fixtures / name), None)
           for name in FIXTURES.get(family.name, ())]
    out.append(Case(f"{family.name}:assembled", _go(family.pieces, f"{family.name}-assembled"), None))
    out.append(Case(f"{family.name}:own-jinja", _jinja(templates[family.template], family.name), None))
    return out


def planted_cases(family: Family, templates: Mapping[str, str], bos: str | None) -> list[Case]:
    """Serving templates with one planted mismatch each (only the classes this family can show)."""
    p, name, own = family.pieces, family.name, templates[family.template]
    cases: list[tuple[str, str, ServingTemplate]] = []

    def go(cls: str, tag: str, pieces: Pieces) -> None:
        cases.append((cls, tag, _go(pieces, f"{name}:{cls}:{tag}")))

    for other in FAMILIES.values():
        if other.name.split("-")[0] != name.split("-")[0]:  # chatml-plain is chatml's family
            go("wrong_family", f"ollama-{other.name}", other.pieces)
            cases.append(("wrong_family", f"jinja-{other.name}",
                          _jinja(templates[other.template], f"{name}:wrong_family:{other.name}")))
    if p.generation.strip():
        go("missing_generation_prompt", "no-generation", replace(p, generation=""))
        cut = _GENERATION_BLOCK.sub("", own)
        if cut != own:
            cases.append(("missing_generation_prompt", "jinja-cut", _jinja(cut, f"{name}:no-generation")))
    if p.system:
        go("system_prompt_dropped", "no-system-block", replace(p, system=False))
    if p.default_system:
        go("system_prompt_dropped", "no-default", replace(p, default_system=None))
    if name in SYSTEM_DROPPING:
        cases.append(("system_prompt_dropped", f"jinja-{SYSTEM_DROPPING[name]}",
                      _jinja(templates[SYSTEM_DROPPING[name]], f"{name}:drops-system")))
    if bos:
        go("bos_doubled", "bos-in-template", replace(p, bos=bos))
        cases.append(("bos_doubled", "jinja-extra-bos", _jinja("{{ bos_token }}" + own, f"{name}:bos")))
    go("missing_end_of_turn", "assistant-end", replace(p, assistant_close=family.alt_end))
    go("missing_end_of_turn", "user-end", replace(p, user_close=family.alt_end))
    end = p.assistant_close.strip()
    if end and end != family.eos and end in p.stops:
        go("missing_end_of_turn", "stop-lines", replace(p, stops=tuple(s for s in p.stops if s != end)))
    go("whitespace", "user-open", replace(p, user_open=_trailing_ws_swapped(p.user_open)))
    go("whitespace", "user-close", replace(p, user_close=" " + p.user_close))
    go("whitespace", "assistant-close", replace(p, assistant_close="\n" + p.assistant_close))
    ws_tail = (replace(p, generation=p.generation + "\n") if p.generation
               else replace(p, user_close=p.user_close + "\n"))
    go("whitespace", "prompt-end", ws_tail)
    return [Case(f"{name}:{cls}:{tag}", serving, cls) for cls, tag, serving in cases]


def measure(tokenizer: Any, records: Sequence[Record], cases: Sequence[Case], *, limit: int = 200
            ) -> Measurement:
    """Run the serving check on every case (see the module docstring)."""
    m = Measurement({}, {}, {}, {}, {}, [], [], {}, 0, 0)
    for case in cases:
        if case.expected is None:
            audit = serving_template_audit(tokenizer, records, case.serving, limit=limit)
            m = replace(m, matching=m.matching + 1, false_alarms=m.false_alarms + len(audit.findings),
                        false_alarm_labels=m.false_alarm_labels + ([case.label] if audit.findings else []))
            continue
        _planted(m, tokenizer, records, case, limit)
    return m


def _planted(m: Measurement, tokenizer: Any, records: Sequence[Record], case: Case, limit: int) -> None:
    cls = case.expected
    assert cls is not None
    outcomes, stop, _ = compare_units(tokenizer, records, case.serving, limit=limit)
    reported = {d.family for o in outcomes for d, _, _ in o.differences or []}
    if stop is not None:
        reported.add("missing_end_of_turn")
    if not reported or reported == {"render_error"}:
        # No token changed (whitespace a tokenizer strips next to its special tokens), or the
        # template cannot render on this tokenizer at all: not a mismatch to recall.
        (m.no_effect if not reported else m.unrenderable).append(case.label)
        return
    _bump(m.cases, cls)
    if cls in reported:
        _bump(m.detected, cls)
    else:
        m.missed.setdefault(cls, []).append(case.label)
    for other in reported - {cls}:
        _bump(m.confusion.setdefault(cls, {}), other)
    for o in outcomes:
        # A conversation the serving template refuses (render_error) has no tokens to compare.
        if o.differs and any(d.family != "render_error" for d, _, _ in o.differences or []):
            _bump(m.conversations, cls)
            if any(d.family == cls for d, _, _ in o.differences or []):
                _bump(m.flagged, cls)


def _bump(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1
