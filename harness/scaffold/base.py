"""The base model as ``harness init`` needs it: loaded once, probed, and described for the suite."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.data import load_records
from harness.data.record import TEXT, Record, Turn
from harness.errors import ModelError
from harness.scaffold import probe


@dataclass(frozen=True)
class BaseInfo:
    model: str  # as the user gave it: a folder or a hub id (from the local cache)
    local: bool
    template_note: str
    load_in_4bit: bool
    lengths: probe.Lengths
    parameters: int
    gpu: bool
    modules: list[str] | str
    untrained: list[str]
    general_texts: list[str]  # sampled from the base (empty when the user gave general text)
    general_perplexity: float

    def suite_path(self, folder: Path) -> str:
        """The model as the suite names it: a path relative to the suite's folder, or the hub id."""
        if not self.local:
            return self.model
        return Path(os.path.relpath(Path(self.model).resolve(), folder.resolve())).as_posix()


def _template_note(source: str) -> str:
    if source == "tokenizer":
        return "The tokenizer has its own chat template: training, scoring and the audit render through it."
    return ("This base has no chat template: every stage renders with the documented plain template\n"
            "(harness.models.PLAIN_TEMPLATE: 'User: ...\\nAssistant: ...<eos>'); the audit notes it too.")


def _texts(texts: Sequence[str]) -> list[Record]:
    return [Record(turns=(Turn(TEXT, t),), index=i, source="general", format="text")
            for i, t in enumerate(texts)]


def inspect_base(model: str, records: Sequence[Record], *, general: Path | None, sample: int,
                 say: Callable[[str], None]) -> BaseInfo:
    """Load the base (4-bit when bitsandbytes is there, as the suite will) and probe it."""
    import torch

    from harness.models.loading import load_base

    local = Path(model).is_dir()
    if not local and (Path(model).exists() or model.startswith((".", "/"))):
        raise ModelError(f"--model {model}: not a model folder")
    four_bit = importlib.util.find_spec("bitsandbytes") is not None
    say(f"model: loading {model} ({'4-bit NF4' if four_bit else 'full precision'})")
    loaded = load_base(model, load_in_4bit=four_bit)
    say(f"model: chat template: {loaded.template_source}")
    lengths = probe.lengths(loaded.tokenizer, records, probe.context_length(loaded.model))
    untrained = probe.untrained_tokens(loaded.model, loaded.tokenizer,
                                       probe.loss_token_ids(loaded.tokenizer, records)) or []
    if untrained:
        say(f"model: the targets need {len(untrained)} tokens this base never learned: "
            f"{', '.join(untrained)} (their embedding rows will train)")
    texts = [] if general is not None else probe.sample_general(loaded, sample)
    canary = load_records(general) if general is not None else _texts(texts)
    return BaseInfo(
        model=model, local=local, template_note=_template_note(loaded.template_source), load_in_4bit=four_bit,
        lengths=lengths, parameters=probe.parameter_count(loaded.model), gpu=torch.cuda.is_available(),
        modules=probe.attention_modules(loaded.model), untrained=untrained, general_texts=texts,
        general_perplexity=probe.base_perplexity(loaded, canary, lengths.max_seq_len))
