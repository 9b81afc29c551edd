"""Planted template defects: real conversations given one known defect each, to measure recall.

``planted_groups`` builds, for one tokenizer family (``"phi3"`` or ``"mistral"``),
records per finding class from real (question, answer) pairs, each marked with
the check that must flag it; ``clean_records`` builds defect-free conversations
(single and two-turn, with system prompts where the template supports them)
that must get no finding at all. ``measure`` runs :func:`audit_templates` on
them and returns recall per class and the clean false positives.

Two classes need another real template on the same tokenizer, because the
target's own template cannot show them: ``missing_eos`` (templates that write
no EOS: falcon-instruct, solar-instruct) and, for Phi-3 mini (whose template
supports system turns), ``system_unsupported`` (the Phi-3 medium template, same
vocabulary, drops them). ``template_render`` is planted on Mistral only: the
Phi-3 mini template has no ``raise_exception`` and renders any string content.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.audit.control_tokens import build_markers
from harness.audit.template_probe import probe_template
from harness.audit.templates import audit_templates
from harness.data.record import ASSISTANT, SYSTEM, USER, Record, Turn

Pair = tuple[str, str]
SYSTEM_PROMPTS = (
    "You are a helpful assistant.",
    "You are a careful math tutor. Explain each step before giving the final answer.",
    "You are a concise assistant for a travel agency. Answer in at most three sentences.",
    "You are an expert copy editor who keeps the author's voice.",
)
FOREIGN = {"phi3": ("<|eot_id|>", "<|im_end|>", "<start_of_turn>", "<|start_header_id|>", "<end_of_turn>",
                    "<|im_start|>", "[/INST]"),
           "mistral": ("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                       "<|begin_of_text|>", "<|im_start|>")}
OWN = {"phi3": ("<|end|>", "<|endoftext|>", "</s>", "<|assistant|>", "<|placeholder1|>"),
       "mistral": ("</s>", "<unk>", "[/INST]")}
UNKNOWN_ROLES = ("gpt", "bot", "model", "human", "narrator", "Assistant")
# Templates of other families, to pre-render content with (names in load_templates' keys).
PRERENDER_WITH = ("ollama:chatml:1", "ollama:llama3-instruct:23", "ollama:gemma-instruct:21",
                  "ollama:mistral-instruct:10", "alpaca", "transcript")
NO_EOS_TEMPLATE = {"phi3": "ollama:falcon-instruct:34", "mistral": "ollama:solar-instruct:35"}


@dataclass(frozen=True)
class PlantedGroup:
    """Records audited together under one template (None: the tokenizer's own)."""

    template: str | None  # a name from load_templates
    template_text: str | None
    records: list[Record]
    expected: dict[int, str] = field(default_factory=dict)  # record index -> check that must flag it


@dataclass(frozen=True)
class PlantedReport:
    recall: dict[str, float]
    planted: dict[str, int]
    missed: dict[str, list[int]]
    clean: int
    clean_false_positives: int
    clean_findings: dict[str, int]


def load_templates(folder: Path) -> dict[str, str]:
    """Real templates from a ``chat_templates/`` folder: ``<file stem>``, ``jinja:<stem>``,
    and ``ollama:<family>:<i>`` for the ollama index entries."""
    out: dict[str, str] = {}
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("chat_template"), str):
            out[path.stem] = data["chat_template"]
        elif isinstance(data, list):
            out.update({f"ollama:{e['name']}:{i}": e["template"] for i, e in enumerate(data)})
    for path in sorted(folder.glob("jinja/*.jinja")):
        out[f"jinja:{path.stem}"] = path.read_text(encoding="utf-8")
    return out


def clean_records(pairs: Sequence[Pair], n: int, *, system_ok: bool, seed: int = 0) -> list[Record]:
    """``n`` defect-free conversations: single-turn, two-turn, and (if ``system_ok``) with a system."""
    rng = random.Random(seed)
    out: list[Record] = []
    for k in range(n):
        (q1, a1), (q2, a2) = rng.sample(list(pairs), 2)
        turns = [Turn(USER, q1), Turn(ASSISTANT, a1)]
        if k % 3 == 1:
            turns += [Turn(USER, q2), Turn(ASSISTANT, a2)]
        if system_ok and k % 4 == 2:
            turns.insert(0, Turn(SYSTEM, rng.choice(SYSTEM_PROMPTS)))
        out.append(_record(turns, k))
    return out


def planted_groups(tokenizer: Any, pairs: Sequence[Pair], long_texts: Sequence[str], per_class: int, *,
                   family: str, templates: Mapping[str, str], seed: int = 0) -> list[PlantedGroup]:
    """Per-class planted records, grouped by template.

    ``family`` "phi3" and "mistral" use fixed token lists and the no-EOS/no-system templates named
    in the module docstring; any other value plants the classes the tokenizer's own template can
    show, with control tokens taken from its markers.
    """
    rng = random.Random(seed)
    planters = _planters(tokenizer, family, templates, pairs, long_texts)
    groups: dict[str | None, PlantedGroup] = {None: PlantedGroup(None, None, [])}
    for check, (template, plant) in planters.items():
        text = templates[template] if template is not None else None
        group = groups.setdefault(template, PlantedGroup(template, text, []))
        for k in range(per_class):
            index = len(group.records)
            group.records.append(_record(plant(rng, rng.choice(list(pairs)), k), index))
            group.expected[index] = check
    return [g for g in groups.values() if g.records]


Planter = Callable[[random.Random, Pair, int], list[Turn]]


def _planters(tokenizer: Any, family: str, templates: Mapping[str, str], pairs: Sequence[Pair],
              long_texts: Sequence[str]) -> dict[str, tuple[str | None, Planter]]:
    def long_text(rng: random.Random) -> str:
        chosen = rng.sample(list(long_texts), min(len(long_texts), 12))
        return "\n\n".join(chosen)

    def prerendered(rng: random.Random, pair: Pair, k: int) -> list[Turn]:
        other = rng.choice(list(pairs))
        how = PRERENDER_WITH[k % len(PRERENDER_WITH)]
        inner = _render_other(tokenizer, templates, how, other)
        return [Turn(USER, f"{inner}\n\n{pair[0]}"), Turn(ASSISTANT, pair[1])]

    profile = probe_template(tokenizer)
    foreign, own = _token_choices(tokenizer, family)
    table: dict[str, tuple[str | None, Planter]] = {
        "unknown_role": (None, _unknown_role),
        "role_order": (None, _role_order),
        "missing_final_assistant": (None, lambda rng, p, k: [Turn(USER, p[0]), Turn(ASSISTANT, p[1]),
                                                           Turn(USER, "And one more thing?")]),
        "empty_assistant": (None, lambda rng, p, k: [Turn(USER, p[0]),
                                                     Turn(ASSISTANT, ("", " ", "\n")[k % 3])]),
        "foreign_control_tokens": (None, lambda rng, p, k: _insert(rng, p, foreign[k % len(foreign)], k)),
        "own_special_tokens": (None, lambda rng, p, k: _insert(rng, p, own[k % len(own)], k)),
        "prerendered": (None, prerendered),
        "echoed_system_prompt": (None, _echo),
        "truncation_prompt": (None, lambda rng, p, k: [
            Turn(USER, f"Read this and answer the question at the end.\n\n{long_text(rng)}\n\n{p[0]}"),
            Turn(ASSISTANT, p[1])]),
        "truncation_response": (None, lambda rng, p, k: [Turn(USER, p[0]),
                                                         Turn(ASSISTANT, f"{p[1]}\n\n{long_text(rng)}")]),
        "loss_mask": (None, _no_target if family == "phi3" else _prompt_only),
    }
    if tokenizer.bos_token and tokenizer.bos_token != tokenizer.eos_token:
        # When BOS is also EOS (Phi-4, GPT-2), one inside content is an EOS: own_special_tokens' case.
        table["double_bos"] = (None, lambda rng, p, k: _double_bos(tokenizer, p, k))
    if family == "phi3":  # its template keeps system turns; the Phi-3 medium one (same vocabulary) drops them
        table["system_unsupported"] = ("phi-3-medium-instruct", _with_system)
    elif profile.system != "supported":
        table["system_unsupported"] = (None, _with_system)
    if profile.system == "raises":  # the Phi-3 mini template never raises on string contents
        table["template_render"] = (None, _alternation if family == "mistral" else _with_system)
    if family in NO_EOS_TEMPLATE:
        table["missing_eos"] = (NO_EOS_TEMPLATE[family], lambda rng, p, k: [Turn(USER, p[0]),
                                                                           Turn(ASSISTANT, p[1])])
    return table


def _token_choices(tokenizer: Any, family: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Foreign and own control tokens to plant: fixed lists for phi3/mistral, else from the markers."""
    if family in FOREIGN:
        return FOREIGN[family], OWN[family]
    markers = build_markers(tokenizer, str(tokenizer.chat_template)).markers.values()
    foreign = tuple(sorted(m.text for m in markers if not m.own and m.text != "</s>"))[:8]
    own = tuple(sorted(m.text for m in markers if m.own and m.special))
    return foreign, own


def _with_system(rng: random.Random, pair: Pair, k: int) -> list[Turn]:
    return [Turn(SYSTEM, rng.choice(SYSTEM_PROMPTS)), Turn(USER, pair[0]), Turn(ASSISTANT, pair[1])]


def _alternation(rng: random.Random, pair: Pair, k: int) -> list[Turn]:
    first = Turn(SYSTEM, rng.choice(SYSTEM_PROMPTS)) if k % 2 else Turn(USER, "Hello.")
    return [first, Turn(USER, pair[0]), Turn(ASSISTANT, pair[1])]


def _unknown_role(rng: random.Random, pair: Pair, k: int) -> list[Turn]:
    role = UNKNOWN_ROLES[k % len(UNKNOWN_ROLES)]
    if k % 2:
        return [Turn(USER, pair[0]), Turn(role, "Let me think about that."), Turn(ASSISTANT, pair[1])]
    return [Turn(USER, pair[0]), Turn(role, pair[1])]


def _role_order(rng: random.Random, pair: Pair, k: int) -> list[Turn]:
    q, a = pair
    variants = ([Turn(USER, q), Turn(USER, "Please answer."), Turn(ASSISTANT, a)],
                [Turn(ASSISTANT, "How can I help?"), Turn(USER, q), Turn(ASSISTANT, a)],
                [Turn(USER, q), Turn(ASSISTANT, a), Turn(ASSISTANT, "Anything else?")],
                [Turn(USER, q), Turn(ASSISTANT, a), Turn(SYSTEM, "Be brief."), Turn(USER, "Thanks, why?"),
                 Turn(ASSISTANT, "Because it follows from the above.")])
    return list(variants[k % len(variants)])


def _insert(rng: random.Random, pair: Pair, token: str, k: int) -> list[Turn]:
    q, a = pair
    if k % 2:
        cut = rng.randrange(1, max(2, len(a)))
        return [Turn(USER, q), Turn(ASSISTANT, f"{a[:cut]}{token}{a[cut:]}")]
    return [Turn(USER, f"{q} {token}"), Turn(ASSISTANT, a)]


def _echo(rng: random.Random, pair: Pair, k: int) -> list[Turn]:
    system = SYSTEM_PROMPTS[k % len(SYSTEM_PROMPTS)]
    return [Turn(SYSTEM, system), Turn(USER, pair[0]), Turn(ASSISTANT, f"{system} {pair[1]}")]


def _double_bos(tokenizer: Any, pair: Pair, k: int) -> list[Turn]:
    bos = str(tokenizer.bos_token)
    if k % 2:
        return [Turn(USER, f"{bos}{pair[0]}"), Turn(ASSISTANT, pair[1])]
    return [Turn(USER, pair[0]), Turn(ASSISTANT, f"{bos}{pair[1]}")]


def _no_target(rng: random.Random, pair: Pair, k: int) -> list[Turn]:
    """No assistant turn the template keeps: prompt only, or the answer under a misspelled role."""
    if k % 2:
        return [Turn(USER, pair[0])]
    return [Turn(USER, pair[0]), Turn("Assistant", pair[1])]


def _prompt_only(rng: random.Random, pair: Pair, k: int) -> list[Turn]:
    """A prompt without any answer (Mistral refuses a misspelled role outright: no mask to check)."""
    return [Turn(USER, pair[0] if k % 2 else f"{pair[0]}\n\n{pair[1]}")]


def _render_other(tokenizer: Any, templates: Mapping[str, str], how: str, pair: Pair) -> str:
    q, a = pair
    if how == "alpaca":
        return ("Below is an instruction that describes a task. Write a response that appropriately "
                f"completes the request.\n\n### Instruction:\n{q}\n\n### Response:\n{a}")
    if how == "transcript":
        return f"Human: {q}\nAssistant: {a}"
    messages = [{"role": USER, "content": q}, {"role": ASSISTANT, "content": a}]
    return str(tokenizer.apply_chat_template(messages, tokenize=False, chat_template=templates[how]))


def _record(turns: list[Turn], index: int) -> Record:
    return Record(turns=tuple(turns), index=index, source="planted", format="messages")


def measure(tokenizer: Any, clean: Sequence[Record], groups: Sequence[PlantedGroup], *,
            max_seq_len: int) -> PlantedReport:
    """Audit the clean records and each planted group; recall per class, false positives on clean."""
    clean_audit = audit_templates(tokenizer, clean, split="train", max_seq_len=max_seq_len, show=0)
    flagged_clean = {r.index for f in clean_audit.findings for r in f.refs}
    clean_counts: dict[str, int] = {}
    for f in clean_audit.findings:
        clean_counts[f.check] = clean_counts.get(f.check, 0) + 1
    planted: dict[str, int] = {}
    missed: dict[str, list[int]] = {}
    own_template = tokenizer.chat_template
    try:
        for group in groups:
            tokenizer.chat_template = group.template_text or own_template
            audit = audit_templates(tokenizer, group.records, split="train", max_seq_len=max_seq_len, show=0)
            hits = {(r.index, f.check) for f in audit.findings for r in f.refs}
            for index, check in group.expected.items():
                planted[check] = planted.get(check, 0) + 1
                if (index, check) not in hits:
                    missed.setdefault(check, []).append(index)
    finally:
        tokenizer.chat_template = own_template
    recall = {c: 1 - len(missed.get(c, [])) / n for c, n in sorted(planted.items())}
    return PlantedReport(recall=recall, planted=dict(sorted(planted.items())), missed=missed,
                         clean=len(clean), clean_false_positives=len(flagged_clean),
                         clean_findings=clean_counts)
