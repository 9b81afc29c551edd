"""Assistant-only labels: the one masking function that training, the mask audit and perplexity share.

A record is rendered with the chat template; each assistant turn's character
span is found by rendering the conversation up to that turn (with the
generation prompt) and up to its end; tokens whose characters start inside a
span carry loss, everything else is ``-100``. The span includes what the
template writes after the content (end-of-turn, EOS), so the model learns to stop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.data.record import ASSISTANT, TEXT, Record

IGNORE = -100


class RenderError(Exception):
    """The chat template refused the conversation (roles, system turn...)."""


@dataclass(frozen=True, slots=True)
class Labeled:
    text: str
    input_ids: list[int]
    labels: list[int]
    spans: list[tuple[int, int]]  # assistant character spans in ``text``
    prompt_tokens: int  # tokens before the first loss token
    truncated: bool
    full_length: int  # tokens before truncation

    @property
    def loss_tokens(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE)


def render(tokenizer: Any, messages: list[dict[str, str]], *, add_generation_prompt: bool = False) -> str:
    try:
        text = tokenizer.apply_chat_template(messages, tokenize=False,
                                             add_generation_prompt=add_generation_prompt)
    except Exception as exc:  # jinja2 TemplateError, raise_exception(...), TypeError on bad content
        raise RenderError(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__) from exc
    return str(text)


def assistant_spans(tokenizer: Any, record: Record) -> tuple[str, list[tuple[int, int]]]:
    """The rendered text and the character span of every assistant turn (content + turn end)."""
    messages = record.messages
    full = render(tokenizer, messages)
    spans: list[tuple[int, int]] = []
    cursor = 0
    for i, turn in enumerate(record.turns):
        if turn.role != ASSISTANT:
            continue
        before = render(tokenizer, messages[:i], add_generation_prompt=True) if i else ""
        through = render(tokenizer, messages[: i + 1])
        if full.startswith(before) and full.startswith(through) and len(through) > len(before):
            start, end = len(before), len(through)
        else:
            # Templates that rewrite history (e.g. strip reasoning) are not prefix-stable:
            # fall back to locating the content itself.
            start = full.find(turn.content, cursor) if turn.content else -1
            if start < 0:
                continue
            end = start + len(turn.content)
        spans.append((start, end))
        cursor = end
    return full, spans


def label_record(tokenizer: Any, record: Record, max_len: int | None = None) -> Labeled:
    """Token ids and assistant-only labels for one record (plain text: loss on every token)."""
    if record.is_text:
        text = record.turns[0].content
        ids = tokenizer(text)["input_ids"]
        labels = list(ids)
        return _truncate(text, ids, labels, [(0, len(text))], max_len)
    text, spans = assistant_spans(tokenizer, record)
    bos = getattr(tokenizer, "bos_token", None)
    enc = tokenizer(text, add_special_tokens=not (bos and text.startswith(bos)),
                    return_offsets_mapping=True)
    ids: list[int] = enc["input_ids"]
    labels = [IGNORE] * len(ids)
    for k, (s, e) in enumerate(enc["offset_mapping"]):
        if e > s and any(a <= s < b for a, b in spans):
            labels[k] = ids[k]
    return _truncate(text, ids, labels, spans, max_len)


def _truncate(text: str, ids: list[int], labels: list[int], spans: list[tuple[int, int]],
              max_len: int | None) -> Labeled:
    first = next((k for k, x in enumerate(labels) if x != IGNORE), len(ids))
    full = len(ids)
    cut = max_len is not None and full > max_len
    if cut and max_len is not None:
        ids, labels = ids[:max_len], labels[:max_len]
    return Labeled(text=text, input_ids=ids, labels=labels, spans=spans, prompt_tokens=first,
                   truncated=cut, full_length=full)


__all__ = ["IGNORE", "TEXT", "Labeled", "RenderError", "assistant_spans", "label_record", "render"]
