"""Batched generation through the tokenizer's chat template (greedy, or sampled under a seed).

Each continuation is cut at the first stop token, and :class:`Generated` says which
stop token ended it, or that it ran to ``max_new_tokens`` without one (an answer
that never reached the template's end-of-turn: a stop-token or template mismatch).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from harness.data.record import Record
from harness.models.template_ids import encode_rendered, generation_prompt_text


@dataclass(frozen=True)
class Generated:
    """One continuation: its text (stop token and special tokens removed), what ended it, its length."""

    text: str
    stop: int | None  # the stop token id that ended it; None: it ran to max_new_tokens
    new_tokens: int  # tokens generated before the stop token (or all of them)


def prompt_texts(tokenizer: Any, records: Sequence[Record]) -> list[str]:
    """Render each record's prompt turns with ``add_generation_prompt`` (the model writes the rest)."""
    return [generation_prompt_text(tokenizer, r) for r in records]


def left_padded(tokenizer: Any, prompts: Sequence[str], device: torch.device
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Input ids and attention mask, left padded: every prompt ends at the same column."""
    batch = [encode_rendered(tokenizer, p) for p in prompts]
    width = max(len(ids) for ids in batch)
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in batch], device=device)
    attention = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in batch], device=device)
    return input_ids, attention


def cut_rows(tokenizer: Any, rows: Sequence[Sequence[int]], stop_token_ids: Sequence[int]) -> list[Generated]:
    """Each generated row cut at its first stop token, decoded without special tokens."""
    stops = set(stop_token_ids)
    out = []
    for row in rows:
        cut = next((i for i, t in enumerate(row) if t in stops), None)
        kept = list(row[:cut]) if cut is not None else list(row)
        out.append(Generated(tokenizer.decode(kept, skip_special_tokens=True),
                             int(row[cut]) if cut is not None else None, len(kept)))
    return out


@torch.inference_mode()
def generate_rows(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    max_new_tokens: int,
    stop_token_ids: Sequence[int],
    batch_size: int = 16,
    sampling: dict[str, float] | None = None,
) -> list[Generated]:
    """Continuations of rendered prompts, greedy unless ``sampling`` (``temperature``, ``top_p``)."""
    outputs: list[Generated] = []
    device = next(model.parameters()).device
    for start in range(0, len(prompts), batch_size):
        input_ids, attention = left_padded(tokenizer, prompts[start : start + batch_size], device)
        decoding: dict[str, Any] = {"do_sample": True, **sampling} if sampling else {"do_sample": False}
        out = model.generate(
            input_ids=input_ids,
            attention_mask=attention,
            max_new_tokens=max_new_tokens,
            eos_token_id=list(stop_token_ids),
            pad_token_id=tokenizer.pad_token_id,
            **decoding,
        )
        outputs += cut_rows(tokenizer, out[:, input_ids.shape[1] :].tolist(), stop_token_ids)
    return outputs


def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    max_new_tokens: int,
    stop_token_ids: Sequence[int],
    batch_size: int = 16,
) -> list[str]:
    """Greedy continuations of rendered prompts, cut at the first stop token (texts only)."""
    rows = generate_rows(model, tokenizer, prompts, max_new_tokens=max_new_tokens,
                         stop_token_ids=stop_token_ids, batch_size=batch_size)
    return [g.text for g in rows]


__all__ = ["Generated", "cut_rows", "encode_rendered", "generate", "generate_rows", "left_padded",
           "prompt_texts"]
