"""The token ids a conversation becomes in training and in a generation prompt: one function each.

Training renders the whole conversation with the chat template and tokenizes it
(:func:`harness.data.labels.label_records`, assistant-only labels). Generation renders
the turns before the final assistant turn with ``add_generation_prompt`` and tokenizes
that the same way (:func:`encode_rendered`: no second BOS when the template writes one).
The scorer, the export check, the parity checks and the serving-template check all
call these, so "the prompt the scorer feeds the model" is one definition, not four copies
(:func:`render_generation_prompt` is the same prompt with each token's character span).

A conversation is a list of ``{"role", "content"}`` mappings, or a :class:`Record`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.data.labels import IGNORE, Labeled, RenderError, label_records, render
from harness.data.record import Record, Turn

Conversation = Sequence[Mapping[str, str]] | Record


def as_record(conversation: Conversation) -> Record:
    if isinstance(conversation, Record):
        return conversation
    turns = tuple(Turn(str(m["role"]), str(m["content"])) for m in conversation)
    return Record(turns=turns, index=0, source="<conversation>", format="messages")


def prompt_messages(conversation: Conversation) -> list[dict[str, str]]:
    """The turns a generation prompt renders: every turn before the final assistant turn."""
    rec = as_record(conversation)
    return [{"role": t.role, "content": t.content} for t in rec.prompt_turns]


def generation_prompt_text(tokenizer: Any, conversation: Conversation) -> str:
    """The scorer's prompt text (raises :class:`RenderError` when the template refuses it)."""
    return render(tokenizer, prompt_messages(conversation), add_generation_prompt=True)


@dataclass(frozen=True)
class Rendered:
    """Text a chat template rendered, its token ids, and each token's character span in ``text``."""

    text: str
    ids: list[int]
    offsets: list[tuple[int, int]]


def adds_special_tokens(tokenizer: Any, text: str) -> bool:
    """Whether the tokenizer adds its special tokens to rendered ``text``: not when the template
    wrote BOS already (training's rule, :mod:`harness.data.labels`)."""
    bos = getattr(tokenizer, "bos_token", None)
    return not (bos and text.startswith(bos))


def encode_rendered(tokenizer: Any, text: str) -> list[int]:
    """Token ids of text a chat template rendered: the template already wrote BOS, don't add another."""
    ids: list[int] = tokenizer(text, add_special_tokens=adds_special_tokens(tokenizer, text))["input_ids"]
    return ids


def render_generation_prompt_ids(tokenizer: Any, conversation: Conversation) -> list[int]:
    """The ids the scorer feeds the model for ``conversation`` (its final assistant turn left out)."""
    return encode_rendered(tokenizer, generation_prompt_text(tokenizer, conversation))


def render_generation_prompt(tokenizer: Any, conversation: Conversation) -> Rendered:
    """:func:`render_generation_prompt_ids` with the text and each token's character span."""
    text = generation_prompt_text(tokenizer, conversation)
    add = adds_special_tokens(tokenizer, text)
    enc = tokenizer(text, add_special_tokens=add, return_offsets_mapping=True)
    return Rendered(text, list(enc["input_ids"]), [(int(a), int(b)) for a, b in enc["offset_mapping"]])


def training_render(tokenizer: Any, conversation: Conversation) -> Labeled:
    """The whole conversation as training sees it, untruncated: ids, labels, character offsets."""
    result = label_records(tokenizer, [as_record(conversation)], None)[0]
    if isinstance(result, RenderError):
        raise result
    return result


def render_training_ids(tokenizer: Any, conversation: Conversation) -> list[int]:
    """The ids training sees for ``conversation`` (before truncation to ``max_seq_len``)."""
    return list(training_render(tokenizer, conversation).input_ids)


def answer_start(labeled: Labeled, record: Record) -> int:
    """The token index where the final assistant turn's loss starts (``len(ids)`` when it has none).

    Training's prompt for that turn is ``input_ids[:answer_start]``: what the model saw before
    it learned to write the answer, which the scorer's prompt must reproduce exactly.
    """
    if record.last_assistant_index is None or not labeled.spans:
        return len(labeled.input_ids)
    span_start = labeled.spans[-1][0]
    for k, (label, (start, end)) in enumerate(zip(labeled.labels, labeled.offsets, strict=False)):
        # A token glued to the answer's first word starts before the span but carries its loss.
        if (label != IGNORE and end > span_start) or (start >= span_start and end > start):
            return k
    return len(labeled.input_ids)


__all__ = ["Conversation", "Rendered", "adds_special_tokens", "answer_start", "as_record", "encode_rendered",
           "generation_prompt_text", "prompt_messages", "render_generation_prompt",
           "render_generation_prompt_ids", "render_training_ids", "training_render"]
