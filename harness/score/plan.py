"""What an evaluation scores (metrics, items) and who does it (model identity), decided without a model.

Everything here needs at most the tokenizer: the cache is consulted before any
model is loaded, so a fully cached rerun never loads the base.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config import SuiteConfig
from harness.data import load_records
from harness.data.record import Record
from harness.io import sha256_file, sha256_text
from harness.models.loading import LoadedModel, adapter_hash, load_chat_tokenizer, model_hash
from harness.models.quirks import best_device, compute_dtype
from harness.models.suite_base import suite_chat_template
from harness.models.template_clone import ClonedTemplate
from harness.score.cache import ModelIdentity
from harness.score.exact import Normalizer
from harness.score.format import FormatChecks
from harness.score.metrics import MetricSettings, MetricSpec, metric_registry
from harness.score.mmlu import MMLUItem, load_items

BASE = "base"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
                   "vocab.json", "merges.txt", "added_tokens.json")


@dataclass(frozen=True)
class ScorePlan:
    """The suite's scoring, resolved: selected metrics, items, and scorer settings."""

    metrics: tuple[MetricSpec, ...]  # what score.metrics selects, from the registry
    perplexity: bool
    eval_records: list[Record]
    general_records: list[Record]
    mmlu_items: list[MMLUItem]
    mmlu_root: Path | None
    settings: MetricSettings
    max_seq_len: int

    @property
    def output_metrics(self) -> tuple[MetricSpec, ...]:
        """The metrics computed from each model's generated output, in selection order."""
        return tuple(m for m in self.metrics if m.job == "generation")

    @property
    def generation(self) -> bool:
        return bool(self.output_metrics)


def make_plan(suite: SuiteConfig) -> ScorePlan:
    score = suite.score
    selected = list(dict.fromkeys(score.metrics))
    formats = FormatChecks(tuple(score.json_keys), score.json_schema, score.regex)
    formats.validate_config(selected)
    registry = metric_registry()
    metrics = tuple({m.name: m for s in selected for m in registry.select(s, folder=suite.folder)}.values())
    jobs = {m.job for m in metrics}
    mmlu_items: list[MMLUItem] = []
    mmlu_root: Path | None = None
    if "mmlu" in jobs and score.mmlu is not None:
        mmlu_root = suite.resolve(score.mmlu.path)
        mmlu_items = load_items(mmlu_root, score.mmlu.subjects, score.mmlu.limit)
    perplexity = "nll-eval" in jobs
    general = (load_records(suite.resolve(suite.data.general))
               if perplexity and suite.data.general else [])
    return ScorePlan(
        metrics=metrics,
        perplexity=perplexity,
        eval_records=load_records(suite.resolve(suite.data.eval), suite.data.format),
        general_records=general,
        mmlu_items=mmlu_items,
        mmlu_root=mmlu_root,
        settings=MetricSettings(Normalizer(score.normalize_punctuation, score.answer_regex), formats),
        max_seq_len=suite.sweep.max_seq_len,
    )


@dataclass(frozen=True)
class Identity:
    """The base side of every cache key, and the tokenizer scoring uses."""

    tokenizer: Any
    template: str
    base_hash: str
    quantization: str
    tokenizer_hash: str
    stop_token_ids: tuple[int, ...]
    template_source: str = ""
    clone: ClonedTemplate | None = None

    def model(self, adapter: str = "none") -> ModelIdentity:
        return ModelIdentity(self.base_hash, self.quantization, self.tokenizer_hash, adapter)


def identify(suite: SuiteConfig, loaded: LoadedModel | None) -> Identity:
    """Hashes of the base, its quantization, tokenizer + template; from ``loaded`` or from disk."""
    path = suite.resolve(suite.base.path)
    if loaded is not None:
        tok, template, base = loaded.tokenizer, loaded.template, loaded.base_hash
        quant = quantization_label(loaded.quantized, loaded.device.type, str(_dtype(loaded.model)))
        stops = tuple(loaded.stop_token_ids)
        source, clone = loaded.template_source, loaded.clone
    else:
        chat = load_chat_tokenizer(path, suite_chat_template(suite))
        tok, template, source, clone = chat.tokenizer, chat.template, chat.source, chat.clone
        base = model_hash(path)
        device = best_device()
        quant = quantization_label(suite.base.load_in_4bit, device.type, str(compute_dtype(device)))
        stops = stop_ids(tok, suite.base.stop_token_ids)
    # A clone changes ids beyond the template text (added tokens, padding): its fingerprint is keyed too.
    keyed = template if clone is None else f"{template}\x00{clone.fingerprint()}"
    return Identity(tok, template, base, quant, tokenizer_hash(path, tok, keyed), stops, source, clone)


def quantization_label(four_bit: bool, device: str, dtype: str) -> str:
    # Mirrors harness.models.loading.quantization_config: NF4 + double quantization when 4-bit.
    return f"{'nf4-dq' if four_bit else 'none'}/{dtype.removeprefix('torch.')}/{device}"


def _dtype(model: Any) -> Any:
    return next(model.parameters()).dtype if not hasattr(model, "dtype") else model.dtype


def stop_ids(tokenizer: Any, configured: list[int]) -> tuple[int, ...]:
    """The suite's stop ids plus EOS, as :func:`harness.models.loading.load_base` sets them."""
    stops = list(configured)
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in stops:
        stops.append(tokenizer.eos_token_id)
    return tuple(stops)


def tokenizer_hash(path: Path, tokenizer: Any, template: str) -> str:
    """Tokenizer files (local folder) or the fast tokenizer's serialized state, plus the template
    and the special ids scoring relies on."""
    p = Path(path)
    if p.is_dir():
        parts = [f"{n}:{sha256_file(p / n)}" for n in TOKENIZER_FILES if (p / n).is_file()]
    else:
        backend = getattr(tokenizer, "backend_tokenizer", None)
        parts = [backend.to_str() if backend is not None else str(path)]
    specials = f"{tokenizer.bos_token_id}/{tokenizer.eos_token_id}/{tokenizer.pad_token_id}"
    return sha256_text(*parts, template, specials)


def adapter_hashes(adapters: Mapping[str, str | Path]) -> dict[str, str]:
    return {name: adapter_hash(path) for name, path in adapters.items()}


__all__ = ["BASE", "Identity", "ScorePlan", "adapter_hashes", "identify", "make_plan", "quantization_label",
           "stop_ids", "tokenizer_hash"]
