"""Control tokens and turn markers of the common chat-model families, and a fast scan for them in text.

Two kinds of hits matter to the template audit:

* **own**: a special or added token of the target tokenizer (it tokenizes as a
  control token, so an ``</s>`` in a response teaches the model to stop there),
  or a marker the target's chat template writes (``[INST]`` for Mistral, which
  tokenizes as text but still reads as a turn boundary to the model);
* **foreign**: a marker of another family (``<|eot_id|>`` in data for Phi-3):
  a sign the data was prepared for another model.

``<s>`` is not in the foreign catalog: it is also HTML (strikethrough). It is
still found as an *own* token for tokenizers whose BOS it is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# Family -> markers. Only strings that are (or look like) control tokens: letters-only markers
# ("User:") are the pre-rendered check's business.
FAMILIES: dict[str, tuple[str, ...]] = {
    "Llama 3": ("<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                "<|eot_id|>", "<|eom_id|>", "<|python_tag|>", "<|finetune_right_pad_id|>"),
    "ChatML (Qwen, Yi, Hermes)": ("<|im_start|>", "<|im_end|>", "<|im_sep|>"),
    "GPT-2 / Qwen / Phi": ("<|endoftext|>",),
    "Mistral / Llama 2": ("[INST]", "[/INST]", "<<SYS>>", "<</SYS>>", "</s>", "[SYSTEM_PROMPT]",
                          "[/SYSTEM_PROMPT]", "[TOOL_CALLS]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]",
                          "[TOOL_RESULTS]", "[/TOOL_RESULTS]"),
    "Gemma": ("<start_of_turn>", "<end_of_turn>", "<bos>", "<eos>", "<start_of_image>"),
    "Phi-3 / Zephyr": ("<|user|>", "<|assistant|>", "<|system|>", "<|end|>"),
    "Phi-4": ("<|tool|>", "<|/tool|>", "<|tool_call|>", "<|/tool_call|>", "<|tool_response|>"),
    "DeepSeek": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>",
                 "<|EOT|>"),
    "OpenChat": ("<|end_of_turn|>",),
    "Command R": ("<|START_OF_TURN_TOKEN|>", "<|END_OF_TURN_TOKEN|>", "<|USER_TOKEN|>",
                  "<|CHATBOT_TOKEN|>", "<|SYSTEM_TOKEN|>", "<BOS_TOKEN>"),
    "Granite": ("<|start_of_role|>", "<|end_of_role|>"),
}

FAMILY_OF: dict[str, str] = {tok: fam for fam, toks in FAMILIES.items() for tok in toks}

# What an added token looks like when it is a control token rather than a word the vocabulary
# grew (some tokenizers add plain words or whitespace runs as added tokens).
_CONTROL_SHAPE = re.compile(r"^(<[^<>\s]{1,60}>|\[/?[A-Z_]{2,40}\]|<\|.{1,60}\|>|<｜.{1,60}｜>)$")


@dataclass(frozen=True)
class Marker:
    """One string to look for, and what it means for the target model."""

    text: str
    own: bool  # the target's own token or template marker (else another family's)
    special: bool  # the target tokenizer encodes it as one control token
    family: str  # "this model" for own markers outside the catalog


@dataclass(frozen=True)
class MarkerSet:
    markers: dict[str, Marker]
    pattern: re.Pattern[str]

    def __bool__(self) -> bool:
        return bool(self.markers)


def added_control_tokens(tokenizer: Any) -> set[str]:
    """The target's strings that tokenize as single control tokens (special or added)."""
    found: set[str] = set()
    decoder = getattr(tokenizer, "added_tokens_decoder", None) or {}
    for added in decoder.values():
        text = str(added)
        if text and (getattr(added, "special", False) or _CONTROL_SHAPE.match(text)):
            found.add(text)
    for name in ("bos_token", "eos_token", "unk_token", "pad_token"):
        value = getattr(tokenizer, name, None)
        if isinstance(value, str) and value:
            found.add(value)
    return found


def control_token_ids(tokenizer: Any) -> set[int]:
    """Ids of the target's control tokens (added special or control-shaped tokens, and EOS)."""
    decoder = getattr(tokenizer, "added_tokens_decoder", None) or {}
    ids = {int(i) for i, added in decoder.items()
           if getattr(added, "special", False) or _CONTROL_SHAPE.match(str(added))}
    eos = getattr(tokenizer, "eos_token_id", None)
    if isinstance(eos, int):
        ids.add(eos)
    return ids


def build_markers(tokenizer: Any, template: str) -> MarkerSet:
    """Own markers (added control tokens, catalog markers in the template) and foreign ones.

    A catalog marker counts as the template's own when it occurs anywhere in the template source:
    markers are written as string literals there, so a substring test finds them.
    """
    special = added_control_tokens(tokenizer)
    markers: dict[str, Marker] = {}
    for text in special:
        markers[text] = Marker(text, own=True, special=True, family=FAMILY_OF.get(text, "this model"))
    for text, family in FAMILY_OF.items():
        if text in markers:
            continue
        own = text in template
        markers[text] = Marker(text, own=own, special=False, family="this model" if own else family)
    longest_first = sorted(markers, key=len, reverse=True)  # "<|end|>" must not hide "<|end_of_turn|>"
    pattern = re.compile("|".join(map(re.escape, longest_first)) if longest_first else "(?!)")
    return MarkerSet(markers, pattern)


@dataclass(frozen=True)
class Hit:
    """One marker found: in which text of the scanned list, where, and which marker."""

    text_index: int
    start: int
    marker: Marker


def scan(texts: Sequence[str], markers: MarkerSet) -> list[Hit]:
    """Every marker occurrence in ``texts``, in one regex pass over their concatenation.

    The texts are joined with NUL (no marker contains one, so no match spans two texts);
    match positions map back to texts with one vectorized ``searchsorted``.
    """
    if not texts or not markers:
        return []
    joined = "\0".join(texts)
    positions: list[int] = []
    found: list[str] = []
    for m in markers.pattern.finditer(joined):
        positions.append(m.start())
        found.append(m.group(0))
    if not positions:
        return []
    lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=len(texts))
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    where = np.searchsorted(starts, np.asarray(positions, dtype=np.int64), side="right") - 1
    return [Hit(int(i), int(p - starts[i]), markers.markers[tok])
            for i, p, tok in zip(where, positions, found, strict=True)]
