"""Load a base model (optionally 4-bit NF4), its tokenizer and chat template, and PEFT adapters.

A cloned chat template (:class:`~harness.models.templates.CloneSpec`) is applied in
:func:`load_chat_tokenizer`, the one tokenizer loader every stage uses, so the ids are the
same with or without the model; :func:`load_base` then resizes the embeddings to match.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch

from harness.errors import AdapterError, ModelError
from harness.io import sha256_file, sha256_text
from harness.models.quirks import best_device, compute_dtype, disable_bnb_cpu_repack, quiet_peft_deprecations
from harness.models.template_clone import (
    ClonedTemplate,
    CloneSourceError,
    clone_template,
    model_vocab_size,
    read_clone_source,
    resize_embeddings,
)
from harness.models.templates import CloneSpec, TemplateChoice, resolve_template


@dataclass
class LoadedModel:
    """A base model, ready to generate, score or train on."""

    model: Any
    tokenizer: Any
    device: torch.device
    quantized: bool
    template: str
    template_source: str
    base_hash: str
    stop_token_ids: list[int] = field(default_factory=list)
    adapters: dict[str, str] = field(default_factory=dict)  # name -> adapter weights hash
    clone: ClonedTemplate | None = None  # set when the chat template was cloned from another model


@dataclass(frozen=True)
class ChatTokenizer:
    """A tokenizer with its chat template in place, and where the template came from."""

    tokenizer: Any
    template: str
    source: str
    clone: ClonedTemplate | None = None


def load_chat_tokenizer(path: str | Path, chat_template: TemplateChoice = None) -> ChatTokenizer:
    """Tokenizer with a pad token and the chosen chat template (cloned ones with their tokens)."""
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(path))
    except Exception as exc:  # transformers raises OSError, ValueError, ... for a bad folder
        raise ModelError(f"{path}: cannot load tokenizer: {_first_line(exc)}") from None
    if tok.pad_token is None:
        # Reusing unk (or eos) as pad is safe: padded positions are masked out of attention and loss.
        tok.pad_token = tok.unk_token if tok.unk_token is not None else tok.eos_token
    if not isinstance(chat_template, CloneSpec):
        template, source = resolve_template(tok, chat_template)
        return ChatTokenizer(tok, template, source)
    try:
        clone = clone_template(tok, read_clone_source(chat_template.source), rows=model_vocab_size(path),
                               multiple=chat_template.resize_to_multiple_of)
    except CloneSourceError as exc:
        raise ModelError(str(exc)) from None
    return ChatTokenizer(tok, str(tok.chat_template), f"clone of {chat_template.source}", clone)


def load_tokenizer(path: str | Path, chat_template: TemplateChoice = None) -> tuple[Any, str, str]:
    """:func:`load_chat_tokenizer` as (tokenizer, template, source)."""
    loaded = load_chat_tokenizer(path, chat_template)
    return loaded.tokenizer, loaded.template, loaded.source


def quantization_config(device: torch.device) -> Any:
    """NF4 with double quantization; compute in bf16 on GPU, float32 on CPU."""
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype(device),
    )


def load_base(
    path: str | Path,
    *,
    load_in_4bit: bool = True,
    chat_template: TemplateChoice = None,
    stop_token_ids: list[int] | None = None,
    device: torch.device | None = None,
) -> LoadedModel:
    """Load a causal LM from a local folder or hub id, 4-bit NF4 when asked (CPU or GPU)."""
    from transformers import AutoModelForCausalLM

    device = device or best_device()
    chat = load_chat_tokenizer(path, chat_template)
    tok = chat.tokenizer
    kwargs: dict[str, Any] = {"dtype": compute_dtype(device)}
    if load_in_4bit:
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise ModelError(
                "load_in_4bit needs bitsandbytes, which is not installed",
                hint="pip install bitsandbytes, or set base.load_in_4bit: false",
            ) from None
        kwargs["quantization_config"] = quantization_config(device)
        kwargs["device_map"] = {"": device.index or 0} if device.type == "cuda" else {"": "cpu"}
    try:
        model = AutoModelForCausalLM.from_pretrained(str(path), **kwargs)
    except Exception as exc:
        raise ModelError(f"{path}: cannot load model: {_first_line(exc)}") from None
    if chat.clone is not None:
        resize_embeddings(model, chat.clone)  # before .to(device): new rows move with the rest
    if not load_in_4bit:
        model = cast(Any, model).to(device)
    disable_bnb_cpu_repack(model)
    model.eval()
    if model.generation_config is not None:
        model.generation_config.pad_token_id = tok.pad_token_id
        if chat.clone is not None:
            model.generation_config.eos_token_id = chat.clone.end_of_turn_id
    stops = list(stop_token_ids or [])
    if tok.eos_token_id is not None and tok.eos_token_id not in stops:
        stops.append(tok.eos_token_id)
    return LoadedModel(
        model=model,
        tokenizer=tok,
        device=device,
        quantized=load_in_4bit,
        template=chat.template,
        template_source=chat.source,
        base_hash=model_hash(path),
        stop_token_ids=stops,
        clone=chat.clone,
    )


def model_hash(path: str | Path) -> str:
    """Hash of the weights and config in a local folder; the id itself for a hub model."""
    p = Path(path)
    if not p.is_dir():
        return sha256_text("hub", str(path))
    files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix in {".safetensors", ".bin", ".json"})
    return sha256_text(*(f"{f.name}:{sha256_file(f)}" for f in files))


# Where the base was is not what the adapter is: the base is keyed by its own weights' hash.
_NOT_CONTENT = frozenset({"base_model_name_or_path"})


def canonical_adapter_config(raw: bytes) -> str:
    """``adapter_config.json`` in one form for one adapter: keys sorted, lists of names sorted (peft
    writes its set-valued fields, ``target_modules`` and the like, in set order, which depends on
    PYTHONHASHSEED), the base's path left out. Lists of numbers keep their order: token indices
    pair with the rows of the saved weights."""
    def canon(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: canon(v) for k, v in value.items() if k not in _NOT_CONTENT}
        if isinstance(value, list):
            items = [canon(v) for v in value]
            return sorted(items) if items and all(isinstance(v, str) for v in items) else items
        return value

    return json.dumps(canon(json.loads(raw)), sort_keys=True)


def adapter_hash(path: str | Path) -> str:
    """Hash of an adapter folder's weights and config (the config in its canonical form)."""
    p = Path(path)
    files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix in {".safetensors", ".bin", ".json"})
    return sha256_text(*(f"{f.name}:{_file_hash(f)}" for f in files))


def _file_hash(path: Path) -> str:
    if path.name == "adapter_config.json":
        try:
            return sha256_text(canonical_adapter_config(path.read_bytes()))
        except (ValueError, RecursionError):  # not JSON: hashed as bytes; loading it reports the error
            pass
    return sha256_file(path)


def attach_adapters(loaded: LoadedModel, adapters: dict[str, str | Path]) -> LoadedModel:
    """Load every adapter onto the one base (no reload); ``set_adapter`` switches between them."""
    from peft import PeftModel

    for name, path in adapters.items():
        _check_adapter(Path(path), loaded)
        try:
            with quiet_peft_deprecations():
                if isinstance(loaded.model, PeftModel):
                    loaded.model.load_adapter(str(path), adapter_name=name)
                else:
                    loaded.model = PeftModel.from_pretrained(loaded.model, str(path), adapter_name=name)
        except Exception as exc:
            raise AdapterError(f"{path}: cannot load adapter onto this base: {_first_line(exc)}") from None
        loaded.adapters[name] = adapter_hash(path)
    disable_bnb_cpu_repack(loaded.model)
    loaded.model.eval()
    return loaded


def _check_adapter(path: Path, loaded: LoadedModel) -> None:
    cfg = path / "adapter_config.json"
    if not cfg.is_file():
        raise AdapterError(f"{path}: not a PEFT adapter (no adapter_config.json)")
    try:
        json.loads(cfg.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise AdapterError(f"{cfg}: adapter_config.json is not valid JSON") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
