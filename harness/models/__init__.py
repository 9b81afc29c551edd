"""Models: base loading (4-bit or not), adapters, generation, backend quirks."""

from harness.models.generation import encode_rendered, generate, prompt_texts
from harness.models.loading import LoadedModel, adapter_hash, attach_adapters, load_base, load_tokenizer
from harness.models.templates import PLAIN_TEMPLATE

__all__ = [
    "PLAIN_TEMPLATE",
    "LoadedModel",
    "adapter_hash",
    "attach_adapters",
    "encode_rendered",
    "generate",
    "load_base",
    "load_tokenizer",
    "prompt_texts",
]
