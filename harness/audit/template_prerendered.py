"""Pre-rendered content: a chat template's output already inside a message (string concatenation).

A finding needs the *structure* of a rendered turn, not a lone token: a role
header (``<|im_start|>user``, ``<start_of_turn>model``), an instruction/response
pair (``[INST] ... [/INST]``, ``### Instruction:`` / ``### Response:``), a
transcript with ``User:``/``Assistant:`` lines, an unsubstituted template
variable (``{{ eos_token }}``, ``###eos_token###``), or the target template's own
user and assistant headers in order. Lone control tokens are the control-token
checks' business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.audit.template_probe import TemplateProfile

PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Llama 3 turn header", re.compile(r"<\|start_header_id\|>\s*\w+\s*<\|end_header_id\|>")),
    ("ChatML turn", re.compile(r"<\|im_start\|>\s*(?:system|user|assistant|tool)\b")),
    ("Mistral/Llama 2 [INST] block", re.compile(r"\[INST\][\s\S]*?\[/INST\]")),
    ("Llama 2 <<SYS>> block", re.compile(r"<<SYS>>[\s\S]*?<</SYS>>")),
    ("Gemma turn", re.compile(r"<start_of_turn>\s*(?:user|model|system)\b")),
    ("Phi-3/Zephyr role header", re.compile(r"<\|(?:system|user|assistant)\|>")),
    ("DeepSeek role header", re.compile(r"<｜(?:User|Assistant)｜>")),
    ("Command R turn", re.compile(r"<\|START_OF_TURN_TOKEN\|>")),
    ("Alpaca prompt", re.compile(r"(?m)^#{2,4} ?(?:Instruction|Response):|Below is an instruction that "
                                 r"describes a task")),
    ("transcript with role lines", re.compile(
        r"(?m)^(?:#{2,4} ?)?(?:Human|User|USER)\s?:[^\n]*\n(?:[^\n]*\n){0,40}?"
        r"(?:#{2,4} ?)?(?:Assistant|ASSISTANT|GPT)\s?:")),
    ("unsubstituted template variable", re.compile(
        r"\{\{-?\s*(?:bos|eos)_token\s*-?\}\}|#{2,}\s*(?:bos|eos)_token\s*#{2,}|<(?:bos|eos)_token>")),
)


@dataclass(frozen=True)
class Prerendered:
    kind: str
    start: int
    end: int


def own_structure(profile: TemplateProfile) -> tuple[str, str] | None:
    """The target template's user header and user-to-assistant marker, when both are distinctive."""
    user, assistant = profile.user_header.strip(), profile.assistant_header.strip()
    if not profile.renders or len(user) < 3 or len(assistant) < 3:
        return None
    return user, assistant


def find_prerendered(content: str, own: tuple[str, str] | None) -> Prerendered | None:
    """The first sign that ``content`` holds a rendered conversation, or None."""
    if own is not None:
        user, assistant = own
        at = content.find(user)
        end = content.find(assistant, at + len(user)) if at >= 0 else -1
        if end >= 0:
            return Prerendered("this model's own template", at, end + len(assistant))
    for kind, pattern in PATTERNS:
        m = pattern.search(content)
        if m:
            return Prerendered(kind, m.start(), m.end())
    return None
