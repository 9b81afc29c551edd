"""Assistant-only labels: the one masking function that training, the mask audit and perplexity share.

A record is rendered with the chat template; each assistant turn's character
span is found by rendering the conversation up to that turn (with the
generation prompt) and up to its end. The span includes what the template
writes after the content (end-of-turn, EOS), so the model learns to stop.

A token carries loss when it starts inside a span, or when it starts just
before one but holds some of the span's non-space characters: when a template's
generation prompt ends with a separator space, SentencePiece tokenizers glue it
to the first word of the response (``"Answer: He"`` becomes ``':' '▁He'``), and
that word must be learned too.
Everything else is ``-100``.

:func:`label_records` labels many records with batched tokenizer calls;
:func:`label_record` is the same code for one record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np

from harness.data.record import ASSISTANT, TEXT, Record

IGNORE = -100
_TOKENIZE_BATCH = 256


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
    offsets: list[tuple[int, int]] = field(default_factory=list)  # (start, end) character span per token

    @property
    def loss_tokens(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE)


def render(tokenizer: Any, messages: list[dict[str, str]], *, add_generation_prompt: bool = False) -> str:
    try:
        text = tokenizer.apply_chat_template(messages, tokenize=False,
                                             add_generation_prompt=add_generation_prompt)
    except Exception as exc:  # jinja2 TemplateError, raise_exception(...), TypeError on bad content
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RenderError(first) from exc
    return str(text)


def render_many(tokenizer: Any, conversations: Sequence[list[dict[str, str]]], *,
                add_generation_prompt: bool = False) -> list[str | RenderError]:
    """:func:`render` for many conversations in one ``apply_chat_template`` call.

    A refusal costs the batch its speed, not its results: the batch is then rendered one
    conversation at a time, and each refused one gets its :class:`RenderError`.
    """
    if not conversations:
        return []
    try:
        out = tokenizer.apply_chat_template(list(conversations), tokenize=False,
                                            add_generation_prompt=add_generation_prompt)
        return [str(text) for text in out]
    except Exception:  # some conversation was refused: find out which
        return [_render_or_error(tokenizer, c, add_generation_prompt) for c in conversations]


def _render_or_error(tokenizer: Any, messages: list[dict[str, str]], gen: bool) -> str | RenderError:
    try:
        return render(tokenizer, messages, add_generation_prompt=gen)
    except RenderError as exc:
        return exc


def assistant_spans(tokenizer: Any, record: Record) -> tuple[str, list[tuple[int, int]]]:
    """The rendered text and the character span of every assistant turn (content + turn end)."""
    result = _spans_many(tokenizer, [record])[0]
    if isinstance(result, RenderError):
        raise result
    return result


def _spans_many(tokenizer: Any, records: Sequence[Record]
                ) -> list[tuple[str, list[tuple[int, int]]] | RenderError]:
    """Spans for many records with three batched renders: full, prompts before, turns through.

    A final assistant turn's rendering "through" its end is the full rendering: not rendered again.
    """
    messages = [r.messages for r in records]
    fulls = render_many(tokenizer, messages)
    befores: list[tuple[int, int]] = []
    throughs: list[tuple[int, int]] = []
    for k, (rec, full) in enumerate(zip(records, fulls, strict=True)):
        if isinstance(full, RenderError):
            continue
        for i, turn in enumerate(rec.turns):
            if turn.role == ASSISTANT:
                befores.extend([(k, i)] if i else [])
                throughs.extend([(k, i)] if i < len(rec.turns) - 1 else [])
    before: dict[int, dict[int, str | RenderError]] = {}
    through: dict[int, dict[int, str | RenderError]] = {}
    rendered = render_many(tokenizer, [messages[k][:i] for k, i in befores], add_generation_prompt=True)
    for (k, i), text in zip(befores, rendered, strict=True):
        before.setdefault(k, {})[i] = text
    for (k, i), text in zip(throughs, render_many(tokenizer, [messages[k][: i + 1] for k, i in throughs]),
                            strict=True):
        through.setdefault(k, {})[i] = text
    out: list[tuple[str, list[tuple[int, int]]] | RenderError] = []
    for k, (rec, full) in enumerate(zip(records, fulls, strict=True)):
        if isinstance(full, RenderError):
            out.append(full)
            continue
        try:
            spans = _record_spans(tokenizer, rec, full, before.get(k, {}), through.get(k, {}))
        except RenderError as exc:
            out.append(exc)
            continue
        out.append((full, spans))
    return out


def _record_spans(tokenizer: Any, record: Record, full: str, befores: dict[int, str | RenderError],
                  throughs: dict[int, str | RenderError]) -> list[tuple[int, int]]:
    """Each assistant turn's span from the renderings before it (``""`` for turn 0) and through it."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for i, turn in enumerate(record.turns):
        if turn.role != ASSISTANT:
            continue
        before, through = befores.get(i, ""), throughs.get(i, full)
        if isinstance(before, RenderError):
            raise before
        if isinstance(through, RenderError):
            raise through
        span = _prefix_span(tokenizer, full, before, through, turn.content)
        if span is None:
            start_from = max(cursor, len(before)) if full.startswith(before) else cursor
            span = _located_span(tokenizer, full, through, turn.content, start_from)
            if span is None:
                continue
        spans.append(span)
        cursor = span[1]
    return spans


def _prefix_span(tokenizer: Any, full: str, before: str, through: str,
                 content: str) -> tuple[int, int] | None:
    """The span ``before``..end-of-turn when both renderings are prefixes of ``full``, else None."""
    if not (full.startswith(before) and len(through) > len(before)):
        return None
    if full.startswith(through):
        return len(before), len(through)
    # Some templates close the conversation differently from a turn (Phi-3 writes EOS after the
    # last message only): the shared prefix of ``through`` and ``full`` still ends after the turn end.
    shared = _common_prefix(full, through)
    needle = content.strip()
    at = full.find(needle, len(before)) if needle else len(before)
    if at < 0 or at + len(needle) > shared:
        return None
    return len(before), _clean_boundary(full, at + len(needle), shared, _control_strings(tokenizer))


def _located_span(tokenizer: Any, full: str, through: str, content: str, start_from: int
                  ) -> tuple[int, int] | None:
    """Templates that rewrite history (Qwen3 adds a think block to the last turn only) are not
    prefix-stable: locate the content itself, never inside the prompt rendered before this turn,
    and extend it over the turn end that ``full`` and ``through`` both write after it."""
    start = full.find(content, start_from) if content else -1
    if start < 0:
        return None
    end = start + len(content)
    at = through.rfind(content)
    if at < 0:
        return start, end
    shared = _common_prefix(full[end:], through[at + len(content) :])
    return start, _clean_boundary(full, end, end + shared, _control_strings(tokenizer))


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    lo, hi = 0, n
    while lo < hi:  # binary search on prefix equality: C-speed slices instead of a char loop
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _clean_boundary(text: str, floor: int, end: int, controls: tuple[str, ...]) -> int:
    """Back ``end`` off to just after a control token or a newline, never below ``floor``.

    The two renderings diverge inside the next marker (``<|user|>`` vs ``<|endoftext|>`` share
    ``<|``); the turn's own end is the last whole token or line before that point.
    """
    best = floor
    for tok in controls:
        at = text.find(tok, floor, end)
        while at >= 0 and at + len(tok) <= end:
            best = max(best, at + len(tok))
            at = text.find(tok, at + 1, end)
    newline = text.rfind("\n", floor, end)
    if newline >= 0:
        best = max(best, newline + 1)
    return best


def _control_strings(tokenizer: Any) -> tuple[str, ...]:
    decoder = getattr(tokenizer, "added_tokens_decoder", None) or {}
    return tuple(str(t) for t in decoder.values() if str(t))


def label_record(tokenizer: Any, record: Record, max_len: int | None = None) -> Labeled:
    """Token ids and assistant-only labels for one record (plain text: loss on every token)."""
    result = label_records(tokenizer, [record], max_len)[0]
    if isinstance(result, RenderError):
        raise result
    return result


def label_records(tokenizer: Any, records: Sequence[Record], max_len: int | None = None
                  ) -> list[Labeled | RenderError]:
    """:func:`label_record` for many records, with batched tokenizer calls.

    A record the template refuses gives its :class:`RenderError` in its slot instead of raising,
    so one bad conversation does not stop the batch.
    """
    out: list[Labeled | RenderError] = []
    for start in range(0, len(records), _TOKENIZE_BATCH):
        out.extend(_label_batch(tokenizer, records[start : start + _TOKENIZE_BATCH], max_len))
    return out


def _label_batch(tokenizer: Any, records: Sequence[Record], max_len: int | None
                 ) -> list[Labeled | RenderError]:
    results: list[Labeled | RenderError | None] = [None] * len(records)
    pending: dict[bool, list[tuple[int, str, list[tuple[int, int]]]]] = {True: [], False: []}
    bos = getattr(tokenizer, "bos_token", None)
    chats = [k for k, rec in enumerate(records) if not rec.is_text]
    spans: dict[int, tuple[str, list[tuple[int, int]]] | RenderError] = dict(
        zip(chats, _spans_many(tokenizer, [records[k] for k in chats]), strict=True))
    for k, rec in enumerate(records):
        if rec.is_text:
            text = rec.turns[0].content
            pending[True].append((k, text, [(0, len(text))]))
            continue
        spanned = spans[k]
        if isinstance(spanned, RenderError):
            results[k] = spanned
            continue
        text, turn_spans = spanned
        # The template may write BOS itself; then the tokenizer must not add another.
        pending[not (bos and text.startswith(bos))].append((k, text, turn_spans))
    for add_special, items in pending.items():
        if not items:
            continue
        enc = tokenizer([text for _, text, _ in items], add_special_tokens=add_special,
                        return_offsets_mapping=True)
        for (k, text, turn_spans), ids, offsets in zip(items, enc["input_ids"], enc["offset_mapping"],
                                                       strict=True):
            is_text = records[k].is_text
            labels = list(ids) if is_text else _span_labels(text, ids, offsets, turn_spans)
            results[k] = _truncate(text, list(ids), labels, turn_spans, max_len, list(offsets))
    return [r for r in results if r is not None]


def _span_labels(text: str, ids: list[int], offsets: Sequence[tuple[int, int]],
                 spans: list[tuple[int, int]]) -> list[int]:
    off = offset_array(offsets)
    starts, ends = off[:, 0], off[:, 1]
    real = ends > starts  # zero-width tokens (BOS added by the post-processor) never carry loss
    mask = np.zeros(len(ids), dtype=bool)
    for a, b in spans:
        mask |= real & (starts >= a) & (starts < b)
        # A token that starts before the span but carries some of its words (a separator space
        # glued to the first word) belongs to the response.
        for k in np.flatnonzero(real & (starts < a) & (ends > a)):
            if text[a : min(int(ends[k]), b)].strip():
                mask[k] = True
    return np.where(mask, np.asarray(ids, dtype=np.int64), IGNORE).tolist()


def offset_array(offsets: Sequence[tuple[int, int]]) -> np.ndarray:
    """Token (start, end) offsets as an ``(n, 2)`` int64 array (flat ``fromiter``: no per-tuple boxing)."""
    flat = np.fromiter(chain.from_iterable(offsets), dtype=np.int64, count=2 * len(offsets))
    return flat.reshape(-1, 2)


def _truncate(text: str, ids: list[int], labels: list[int], spans: list[tuple[int, int]],
              max_len: int | None, offsets: list[tuple[int, int]]) -> Labeled:
    first = next((k for k, x in enumerate(labels) if x != IGNORE), len(ids))
    full = len(ids)
    cut = max_len is not None and full > max_len
    if cut and max_len is not None:
        ids, labels, offsets = ids[:max_len], labels[:max_len], offsets[:max_len]
    return Labeled(text=text, input_ids=ids, labels=labels, spans=spans, prompt_tokens=first,
                   truncated=cut, full_length=full, offsets=offsets)


__all__ = ["IGNORE", "TEXT", "Labeled", "RenderError", "assistant_spans", "label_record", "label_records",
           "offset_array", "render", "render_many"]
