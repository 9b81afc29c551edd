"""What ``harness init`` learns from the base model: template, lengths, size, untrained tokens, canary text.

* the chat template: the tokenizer's own, or none (then the documented plain
  template, and init says so);
* lengths: the token lengths of the training examples as training renders them
  (``max_seq_len``) and of their targets (``max_new_tokens``);
* untrained tokens: tokens the targets need whose input embedding sits almost
  on top of another token's. A base that never
  learned a token (byte-fallback pieces, a new end-of-turn token) keeps its
  initial row, so such rows cluster: closer than ``UNTRAINED_SHARE`` of the
  median row norm; they get trainable embedding rows;
* a forgetting canary when the user has no general text: texts the base
  writes itself from BOS (sampled, seeded), so by construction what the base
  already models; and the base's perplexity on it, to size the canary's gate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from harness.data.labels import IGNORE, Labeled, label_records
from harness.data.record import Record
from harness.models.loading import LoadedModel

UNTRAINED_SHARE = 0.05
MAX_EMBEDDING_CELLS = 200_000_000  # vocab x dim beyond which the untrained-token check is skipped
SAMPLE_ROWS = 512


@dataclass(frozen=True)
class Lengths:
    max_seq_len: int  # covers 99% of the rendered examples, a multiple of 32
    max_new_tokens: int  # covers 95% of the targets plus room to stop
    truncated_share: float  # examples longer than max_seq_len


def _round_up(x: float, step: int) -> int:
    return int(math.ceil(x / step) * step)


def lengths(tokenizer: Any, records: Sequence[Record], context: int | None = None) -> Lengths:
    """Token lengths as training renders the records (through the tokenizer's chat template), within
    the model's ``context`` (a prompt and its answer must fit in it)."""
    labeled = _labeled(tokenizer, records)
    full = np.array([lab.full_length for lab in labeled])
    target = np.array([lab.loss_tokens for lab in labeled])
    limit = context or 4096
    seq = min(limit, 4096, max(64, _round_up(float(np.percentile(full, 99)), 32)))
    new = min(512, limit // 2, max(16, _round_up(float(np.percentile(target, 95)) + 8, 8)))
    return Lengths(seq, new, float((full > seq).mean()))


def loss_token_ids(tokenizer: Any, records: Sequence[Record]) -> set[int]:
    """Every token id the training loss falls on (targets and the end-of-turn the template writes)."""
    return {int(i) for lab in _labeled(tokenizer, records) for i in lab.labels if i != IGNORE}


def _labeled(tokenizer: Any, records: Sequence[Record]) -> list[Labeled]:
    """Up to SAMPLE_ROWS records as training tokenizes them (those the template refuses left out)."""
    labeled = [lab for lab in label_records(tokenizer, records[:SAMPLE_ROWS]) if isinstance(lab, Labeled)]
    if not labeled:
        from harness.errors import DataError

        raise DataError("the chat template renders none of the first rows", path=records[0].source)
    return labeled


def untrained_tokens(model: Any, tokenizer: Any, ids: set[int]) -> list[str] | None:
    """Tokens among ``ids`` whose embedding row is (nearly) another's; None when the vocabulary is too big."""
    weight = model.get_input_embeddings().weight.detach().float().cpu()
    vocab, dim = weight.shape
    if vocab * dim > MAX_EMBEDDING_CELLS or vocab < 3:
        return None
    typical = float(torch.median(weight.norm(dim=1)))
    wanted = torch.tensor(sorted(i for i in ids if 0 <= i < vocab), dtype=torch.long)
    if not len(wanted) or typical <= 0:
        return []
    close = wanted[_nearest(weight, wanted) < UNTRAINED_SHARE * typical]
    return [str(t) for t in tokenizer.convert_ids_to_tokens(close.tolist())]


def _nearest(weight: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """Distance of each of ``rows`` to its nearest other row of ``weight``."""
    out = []
    for chunk in rows.split(256):
        d = torch.cdist(weight[chunk], weight)
        d[torch.arange(len(chunk)), chunk] = float("inf")
        out.append(d.min(dim=1).values)
    return torch.cat(out)


def context_length(model: Any) -> int | None:
    """The longest sequence the model was built for (config.max_position_embeddings), if it says."""
    value = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    return int(value) if isinstance(value, int) and value > 0 else None


def parameter_count(model: Any) -> int:
    """Parameters as loaded in full precision (transformers counts packed 4-bit weights twice)."""
    count = getattr(model, "num_parameters", None)
    return int(count()) if callable(count) else int(sum(p.numel() for p in model.parameters()))


def attention_modules(model: Any) -> list[str] | str:
    """The attention projections' names (LoRA on them keeps general text best), else all-linear."""
    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    groups = (["q_proj", "k_proj", "v_proj", "o_proj"], ["c_attn", "c_proj"], ["query_key_value", "dense"])
    for group in groups:
        if all(g in names for g in group):
            return group
    return "all-linear"


def sample_general(loaded: LoadedModel, n: int, *, max_new_tokens: int = 48, seed: int = 0) -> list[str]:
    """``n`` texts the base writes from BOS (temperature 1, top-p 0.95, seeded), at least 5 words each."""
    tok = loaded.tokenizer
    start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    torch.manual_seed(seed)
    ids = torch.tensor([[start]] * n, device=loaded.device)
    with torch.inference_mode():
        out = loaded.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=True,
                                    temperature=1.0, top_p=0.95, max_new_tokens=max_new_tokens,
                                    pad_token_id=tok.pad_token_id, eos_token_id=loaded.stop_token_ids or None)
    texts = [" ".join(tok.decode(row[1:], skip_special_tokens=True).split()) for row in out]
    return [t for t in texts if len(t.split()) >= 5]


def base_perplexity(loaded: LoadedModel, records: Sequence[Record], max_len: int) -> float:
    """The base's corpus perplexity on text records (as the run's general_perplexity scores them)."""
    from harness.score.perplexity import corpus_perplexity, record_nll

    scores, _ = record_nll(loaded.model, loaded.tokenizer, records, max_len=max_len)
    return corpus_perplexity(list(scores.values()))


__all__ = ["Lengths", "attention_modules", "base_perplexity", "lengths", "loss_token_ids", "parameter_count",
           "sample_general", "untrained_tokens"]
