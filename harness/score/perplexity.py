"""Token-level perplexity with the training masking.

Each record goes through :func:`harness.data.labels.label_record`, the same
function that builds training labels: chat records are scored on their
assistant tokens only (plus end-of-turn), plain-text records on every token.
Sequences are truncated to the sweep's ``max_seq_len`` exactly as in training.

The loss of one token is the cross entropy of the model's next-token
distribution (float32 log-softmax) at the position before it, as Hugging
Face's causal-LM loss computes it; a record's result is the *sum* of its token
NLLs and its token count, so corpus perplexity is ``exp(sum NLL / sum tokens)``
(token-weighted, not a mean of per-record perplexities). Batches are
length-sorted and right-padded; padding never reaches a scored position.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from harness.data.labels import IGNORE, RenderError, label_record
from harness.data.record import Record
from harness.progress import progress_bar


@dataclass(frozen=True)
class TokenNLL:
    """One record's summed next-token NLL over its scored tokens."""

    nll: float
    tokens: int

    @property
    def perplexity(self) -> float:
        return math.exp(self.nll / self.tokens) if self.tokens else float("nan")


@dataclass(frozen=True)
class Prepared:
    """Records ready to score, and the ones that cannot be (record index -> reason)."""

    input_ids: list[list[int]]
    labels: list[list[int]]
    positions: list[int]  # position in the input sequence of each prepared record
    skipped: dict[int, str]


def prepare(tokenizer: Any, records: Sequence[Record], max_len: int | None) -> Prepared:
    ids: list[list[int]] = []
    labels: list[list[int]] = []
    positions: list[int] = []
    skipped: dict[int, str] = {}
    for pos, rec in enumerate(records):
        try:
            lab = label_record(tokenizer, rec, max_len)
        except RenderError as exc:
            skipped[pos] = f"template error: {exc}"
            continue
        # The first token is never predicted, so it cannot carry loss.
        if not any(x != IGNORE for x in lab.labels[1:]):
            skipped[pos] = "no scored tokens (empty target, or cut by max_seq_len)"
            continue
        ids.append(lab.input_ids)
        labels.append(lab.labels)
        positions.append(pos)
    return Prepared(ids, labels, positions, skipped)


@torch.inference_mode()
def batch_nll(model: Any, input_ids: list[list[int]], labels: list[list[int]], pad_id: int,
              device: torch.device) -> list[TokenNLL]:
    """Summed NLL and scored-token count of each sequence in one right-padded batch."""
    width = max(len(x) for x in input_ids)
    ids = torch.full((len(input_ids), width), pad_id, dtype=torch.long)
    lab = torch.full((len(input_ids), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(input_ids), width), dtype=torch.long)
    for row, (x, y) in enumerate(zip(input_ids, labels, strict=True)):
        ids[row, : len(x)] = torch.tensor(x)
        lab[row, : len(y)] = torch.tensor(y)
        mask[row, : len(x)] = 1
    logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
    target = lab[:, 1:].to(device)
    nll = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]), target.reshape(-1),
        ignore_index=IGNORE, reduction="none").view(target.shape)
    sums = nll.sum(dim=1).double().cpu().tolist()
    counts = (target != IGNORE).sum(dim=1).cpu().tolist()
    return [TokenNLL(float(s), int(c)) for s, c in zip(sums, counts, strict=True)]


def score_prepared(model: Any, prep: Prepared, which: Sequence[int], *, pad_id: int, batch_size: int = 16,
                   progress: bool = False, label: str = "perplexity") -> dict[int, TokenNLL]:
    """NLL of the prepared sequences ``which`` (indices into ``prep``), longest first in batches."""
    device = next(model.parameters()).device
    order = sorted(which, key=lambda i: -len(prep.input_ids[i]))
    results: dict[int, TokenNLL] = {}
    with progress_bar(progress) as bar:
        task = bar.add_task(label, total=len(order))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            scores = batch_nll(model, [prep.input_ids[i] for i in chunk], [prep.labels[i] for i in chunk],
                               pad_id, device)
            results.update(zip(chunk, scores, strict=True))
            bar.advance(task, len(chunk))
    return results


def record_nll(model: Any, tokenizer: Any, records: Sequence[Record], *, max_len: int | None,
               batch_size: int = 16, progress: bool = False) -> tuple[dict[int, TokenNLL], dict[int, str]]:
    """NLL of every record (keyed by its position in ``records``), and the skipped ones with reasons."""
    prep = prepare(tokenizer, records, max_len)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    scores = score_prepared(model, prep, range(len(prep.input_ids)), pad_id=pad, batch_size=batch_size,
                            progress=progress)
    return {prep.positions[i]: s for i, s in scores.items()}, prep.skipped


def corpus_perplexity(scores: Sequence[TokenNLL]) -> float:
    tokens = sum(s.tokens for s in scores)
    return math.exp(sum(s.nll for s in scores) / tokens) if tokens else float("nan")


__all__ = ["Prepared", "TokenNLL", "batch_nll", "corpus_perplexity", "prepare", "record_nll",
           "score_prepared"]
