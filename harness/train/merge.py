"""Merge a trained adapter into its base and export the merged model.

As the guides require, the base is reloaded in 16/32-bit (never merged into
4-bit weights, which would round the update away); then ``merge_and_unload``
folds the LoRA (and any trainable token rows) into the weights. The export is
checked: merged and unmerged models must give the same greedy outputs and
near-identical logits on a sample of prompts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from harness.data.record import Record
from harness.errors import AdapterError
from harness.models.generation import encode_rendered, generate, prompt_texts
from harness.models.loading import attach_adapters, load_base


@dataclass(frozen=True)
class MergeCheck:
    path: str
    samples: int
    same_outputs: int
    max_logit_diff: float

    @property
    def ok(self) -> bool:
        return self.same_outputs == self.samples and self.max_logit_diff < 1e-3


def merge_adapter(
    base: str | Path,
    adapter: str | Path,
    out: Path,
    *,
    chat_template: str | None,
    stop_token_ids: Sequence[int],
    sample: Sequence[Record],
    max_new_tokens: int = 40,
) -> MergeCheck:
    """Merge ``adapter`` into a full-precision ``base``, save to ``out``, and check it on ``sample``."""
    unmerged = attach_adapters(
        load_base(base, load_in_4bit=False, chat_template=chat_template, stop_token_ids=list(stop_token_ids)),
        {"adapter": adapter},
    )
    tok = unmerged.tokenizer
    prompts = prompt_texts(tok, sample)
    before = generate(
        unmerged.model, tok, prompts, max_new_tokens=max_new_tokens, stop_token_ids=stop_token_ids
    )
    logits_before = _logits(unmerged.model, tok, prompts)
    merged = unmerged.model.merge_and_unload()
    after = generate(merged, tok, prompts, max_new_tokens=max_new_tokens, stop_token_ids=stop_token_ids)
    diff = float((_logits(merged, tok, prompts) - logits_before).abs().max()) if prompts else 0.0
    check = MergeCheck(
        path=str(out),
        samples=len(prompts),
        same_outputs=sum(a == b for a, b in zip(before, after, strict=True)),
        max_logit_diff=diff,
    )
    if not check.ok:
        raise AdapterError(
            f"{adapter}: merged model disagrees with the adapter "
            f"({check.same_outputs}/{check.samples} same outputs, max logit diff {diff:.2e})"
        )
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return check


@torch.inference_mode()
def _logits(model: torch.nn.Module, tokenizer: object, prompts: Sequence[str]) -> torch.Tensor:
    rows = [model(input_ids=torch.tensor([encode_rendered(tokenizer, p)])).logits[0, -1] for p in prompts]
    return torch.stack(rows) if rows else torch.zeros(0)
