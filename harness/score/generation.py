"""Generation settings for scoring, and batched generation (greedy by default, sampled on request).

Greedy decoding goes through :func:`harness.models.generation.generate` (chat
template with ``add_generation_prompt``, left padding, stop at the first stop
token). Sampled decoding (``temperature > 0``) uses the same prompts and
padding with ``do_sample=True`` and a fixed torch seed; its outputs are not
deterministic across machines, so the cache never stores them unless the suite
asks (``cache_sampled``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from harness.config import ScoreConfig
from harness.data.labels import RenderError, render
from harness.data.record import Record
from harness.models.generation import encode_rendered, generate
from harness.progress import progress_bar


@dataclass(frozen=True)
class GenerationSettings:
    max_new_tokens: int
    batch_size: int
    stop_token_ids: tuple[int, ...]
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    cache_sampled: bool = False

    @property
    def sampled(self) -> bool:
        return self.temperature > 0

    @property
    def cacheable(self) -> bool:
        return not self.sampled or self.cache_sampled

    def key(self) -> dict[str, Any]:
        """What the outputs depend on (the cache key part). Batch size is in: padding changes numerics."""
        out = asdict(self)
        out.pop("cache_sampled")
        out["stop_token_ids"] = list(self.stop_token_ids)
        out["decoding"] = "sampled" if self.sampled else "greedy"
        return out


def generation_settings_key(settings: GenerationSettings) -> str:
    """The hash of :meth:`GenerationSettings.key` (what the cache keys generations by)."""
    from harness.score.cache import settings_hash

    return settings_hash(settings.key())


def settings_for(score: ScoreConfig, stop_token_ids: Sequence[int]) -> GenerationSettings:
    """Settings from the suite. ``temperature``, ``top_p``, ``seed`` and ``cache_sampled`` are
    optional score keys (read when the suite schema has them; greedy and uncached-sampling otherwise)."""
    return GenerationSettings(
        max_new_tokens=score.max_new_tokens,
        batch_size=score.batch_size,
        stop_token_ids=tuple(int(t) for t in stop_token_ids),
        temperature=float(getattr(score, "temperature", 0.0) or 0.0),
        top_p=float(getattr(score, "top_p", 1.0) or 1.0),
        seed=int(getattr(score, "seed", 0) or 0),
        cache_sampled=bool(getattr(score, "cache_sampled", False)),
    )


def render_prompts(tokenizer: Any, records: Sequence[Record]) -> tuple[dict[int, str], dict[int, str]]:
    """Rendered prompts by position, and the positions whose template refused them (with reasons)."""
    prompts: dict[int, str] = {}
    failed: dict[int, str] = {}
    for pos, rec in enumerate(records):
        try:
            head = rec.messages[: len(rec.prompt_turns)]
            prompts[pos] = render(tokenizer, head, add_generation_prompt=True)
        except RenderError as exc:
            failed[pos] = f"template error: {exc}"
    return prompts, failed


def generate_outputs(model: Any, tokenizer: Any, prompts: Sequence[str], settings: GenerationSettings, *,
                     progress: bool = False, label: str = "generate") -> list[str]:
    """Continuations of rendered prompts, in order, cut at the first stop token."""
    outputs: list[str] = []
    with progress_bar(progress) as bar:
        task = bar.add_task(label, total=len(prompts))
        for start in range(0, len(prompts), settings.batch_size):
            batch = list(prompts[start : start + settings.batch_size])
            if settings.sampled:
                outputs += _sampled(model, tokenizer, batch, settings, seed=settings.seed + start)
            else:
                outputs += generate(model, tokenizer, batch, max_new_tokens=settings.max_new_tokens,
                                    stop_token_ids=settings.stop_token_ids, batch_size=settings.batch_size)
            bar.advance(task, len(batch))
    return outputs


@torch.inference_mode()
def _sampled(model: Any, tokenizer: Any, prompts: list[str], settings: GenerationSettings,
             seed: int) -> list[str]:
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id
    batch = [encode_rendered(tokenizer, p) for p in prompts]
    width = max(len(ids) for ids in batch)
    input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in batch], device=device)
    attention = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in batch], device=device)
    torch.manual_seed(seed)  # a batch's samples depend on its seed only, not on earlier batches
    out = model.generate(input_ids=input_ids, attention_mask=attention,
                         max_new_tokens=settings.max_new_tokens, do_sample=True,
                         temperature=settings.temperature, top_p=settings.top_p,
                         eos_token_id=list(settings.stop_token_ids), pad_token_id=pad)
    texts = []
    for row in out[:, width:].tolist():
        cut = next((i for i, t in enumerate(row) if t in settings.stop_token_ids), len(row))
        texts.append(tokenizer.decode(row[:cut], skip_special_tokens=True))
    return texts


__all__ = ["GenerationSettings", "generate_outputs", "generation_settings_key", "render_prompts",
           "settings_for"]
