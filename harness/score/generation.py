"""Generation settings for scoring, and batched generation (greedy by default, sampled on request).

Both go through :func:`harness.models.generation.generate_rows` (the chat
template's generation prompt from :mod:`harness.models.template_ids`, left
padding, cut at the first stop token, and which stop token ended each answer).
Sampled decoding (``temperature > 0``) adds ``do_sample=True`` under a fixed torch
seed per batch; its outputs are not deterministic across machines, so the cache
never stores them unless the suite asks (``cache_sampled``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from harness.config import ScoreConfig
from harness.data.labels import RenderError
from harness.data.record import Record
from harness.models.generation import Generated, generate_rows
from harness.models.template_ids import generation_prompt_text
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
        out["record"] = "output+stop"  # cached entries also say which stop token ended the answer
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
            prompts[pos] = generation_prompt_text(tokenizer, rec)
        except RenderError as exc:
            failed[pos] = f"template error: {exc}"
    return prompts, failed


def generate_outputs(model: Any, tokenizer: Any, prompts: Sequence[str], settings: GenerationSettings, *,
                     progress: bool = False, label: str = "generate") -> list[Generated]:
    """Continuations of rendered prompts, in order, cut at the first stop token (and which one)."""
    outputs: list[Generated] = []
    sampling = {"temperature": settings.temperature, "top_p": settings.top_p} if settings.sampled else None
    with progress_bar(progress) as bar:
        task = bar.add_task(label, total=len(prompts))
        for start in range(0, len(prompts), settings.batch_size):
            batch = list(prompts[start : start + settings.batch_size])
            if sampling:
                torch.manual_seed(settings.seed + start)  # a batch's samples depend on its seed only
            outputs += generate_rows(model, tokenizer, batch, max_new_tokens=settings.max_new_tokens,
                                     stop_token_ids=settings.stop_token_ids, batch_size=settings.batch_size,
                                     sampling=sampling)
            bar.advance(task, len(batch))
    return outputs


__all__ = ["GenerationSettings", "generate_outputs", "generation_settings_key", "render_prompts",
           "settings_for"]
