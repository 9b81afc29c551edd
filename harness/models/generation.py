"""Batched greedy generation through the tokenizer's chat template."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from harness.data.record import Record


def prompt_texts(tokenizer: Any, records: Sequence[Record]) -> list[str]:
    """Render each record's prompt turns with ``add_generation_prompt`` (the model writes the rest)."""
    return [
        tokenizer.apply_chat_template(
            [{"role": t.role, "content": t.content} for t in r.prompt_turns],
            tokenize=False,
            add_generation_prompt=True,
        )
        for r in records
    ]


def encode_rendered(tokenizer: Any, text: str) -> list[int]:
    """Token ids of text a chat template rendered: the template already wrote BOS, don't add another."""
    bos = getattr(tokenizer, "bos_token", None)
    add_special = not (bos and text.startswith(bos))
    ids: list[int] = tokenizer(text, add_special_tokens=add_special)["input_ids"]
    return ids


@torch.inference_mode()
def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    max_new_tokens: int,
    stop_token_ids: Sequence[int],
    batch_size: int = 16,
) -> list[str]:
    """Greedy continuations of rendered prompts, cut at the first stop token."""
    outputs: list[str] = []
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id
    for start in range(0, len(prompts), batch_size):
        batch = [encode_rendered(tokenizer, p) for p in prompts[start : start + batch_size]]
        width = max(len(ids) for ids in batch)
        # Left padding: every prompt ends at the same column, so generation starts together.
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in batch], device=device)
        attention = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in batch], device=device)
        out = model.generate(
            input_ids=input_ids,
            attention_mask=attention,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=list(stop_token_ids),
            pad_token_id=pad,
        )
        for row in out[:, width:].tolist():
            cut = next((i for i, t in enumerate(row) if t in stop_token_ids), len(row))
            outputs.append(tokenizer.decode(row[:cut], skip_special_tokens=True))
    return outputs
