"""Merge a trained adapter into its base and export the merged model, checked against training.

As the guides require, the base is reloaded in 16/32-bit (never merged into
4-bit weights, which would round the update away), with the suite's chat template
(a cloned one resizes the embeddings exactly as training did); then
``merge_and_unload`` folds the LoRA (and any trainable token rows) into the weights.
The stop tokens (the template's end-of-turn first) go into ``generation_config.json``
so a server stops where training taught the model to.

The export is checked twice. In memory: merged and unmerged models give the same
greedy outputs and near-identical logits on the sample. On disk: the written folder,
loaded with plain transformers the way a server loads it, carries the training
``chat_template``, special tokens, EOS and generation config, renders every sample
prompt to the same ids (:mod:`harness.audit.export_parity`), and reproduces the
unmerged model's outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from harness.audit.export_parity import ExportParity, export_parity
from harness.data.record import Record
from harness.errors import AdapterError
from harness.models.generation import encode_rendered, generate, prompt_texts
from harness.models.loading import attach_adapters, load_base
from harness.models.templates import TemplateChoice


@dataclass(frozen=True)
class MergeCheck:
    path: str
    samples: int
    same_outputs: int
    max_logit_diff: float
    exported_same_outputs: int = 0  # outputs of the folder reloaded from disk equal to the unmerged ones
    parity: ExportParity | None = None

    @property
    def ok(self) -> bool:
        return self.same_outputs == self.samples and self.max_logit_diff < 1e-3

    @property
    def exported_ok(self) -> bool:
        """The written folder matches training: parity checks and reloaded outputs."""
        return (self.parity is None or self.parity.ok) and self.exported_same_outputs == self.samples


def merge_adapter(
    base: str | Path,
    adapter: str | Path,
    out: Path,
    *,
    chat_template: TemplateChoice,
    stop_token_ids: Sequence[int],
    sample: Sequence[Record],
    max_new_tokens: int = 40,
) -> MergeCheck:
    """Merge ``adapter`` into a full-precision ``base``, save to ``out``, and check it on ``sample``."""
    unmerged = attach_adapters(
        load_base(base, load_in_4bit=False, chat_template=chat_template, stop_token_ids=list(stop_token_ids)),
        {"adapter": adapter},
    )
    tok, stops = unmerged.tokenizer, unmerged.stop_token_ids  # the suite's stop tokens plus EOS
    prompts = prompt_texts(tok, sample)
    before = generate(unmerged.model, tok, prompts, max_new_tokens=max_new_tokens, stop_token_ids=stops)
    logits_before = _logits(unmerged.model, tok, prompts)
    merged = unmerged.model.merge_and_unload()
    after = generate(merged, tok, prompts, max_new_tokens=max_new_tokens, stop_token_ids=stops)
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
    save_export(merged, tok, out, stops)
    parity = export_parity(tok, out, sample, stop_token_ids=stops)
    reloaded = exported_outputs(out, sample, max_new_tokens=max_new_tokens, device=unmerged.device)
    same = sum(a == b for a, b in zip(before, reloaded, strict=True))
    return MergeCheck(check.path, check.samples, check.same_outputs, diff, exported_same_outputs=same,
                      parity=parity)


def save_export(model: Any, tokenizer: Any, out: Path, stop_token_ids: Sequence[int]) -> None:
    """Weights, tokenizer, and a generation config whose EOS list holds every stop token."""
    eos = tokenizer.eos_token_id
    stops = list(dict.fromkeys([*([eos] if eos is not None else []), *stop_token_ids]))
    model.config.eos_token_id = eos
    if model.generation_config is not None:
        model.generation_config.eos_token_id = stops
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))


def exported_outputs(folder: Path, sample: Sequence[Record], *, max_new_tokens: int,
                     device: torch.device | None = None) -> list[str]:
    """Greedy outputs of the exported folder, loaded and prompted with nothing but its own files."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder))
    if tok.pad_token is None:  # as load_tokenizer: pad positions are masked out
        tok.pad_token = tok.unk_token if tok.unk_token is not None else tok.eos_token
    model: Any = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    model = model.to(device or torch.device("cpu")).eval()
    eos = model.generation_config.eos_token_id
    stops = eos if isinstance(eos, list) else [] if eos is None else [eos]
    prompts = prompt_texts(tok, sample)
    return generate(model, tok, prompts, max_new_tokens=max_new_tokens, stop_token_ids=stops)


@torch.inference_mode()
def _logits(model: torch.nn.Module, tokenizer: object, prompts: Sequence[str]) -> torch.Tensor:
    rows = [model(input_ids=torch.tensor([encode_rendered(tokenizer, p)])).logits[0, -1] for p in prompts]
    return torch.stack(rows) if rows else torch.zeros(0)
