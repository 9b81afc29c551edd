"""Models: base loading (4-bit or not), adapters, chat templates (cloned too), generation, backend quirks.

The names load lazily: suite validation reads clone sources through
:mod:`harness.models.template_clone` without importing torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.models.generation import encode_rendered, generate, prompt_texts
    from harness.models.loading import LoadedModel, adapter_hash, attach_adapters, load_base, load_tokenizer
    from harness.models.templates import PLAIN_TEMPLATE

_LAZY = {
    "PLAIN_TEMPLATE": "harness.models.templates",
    "LoadedModel": "harness.models.loading",
    "adapter_hash": "harness.models.loading",
    "attach_adapters": "harness.models.loading",
    "encode_rendered": "harness.models.generation",
    "generate": "harness.models.generation",
    "load_base": "harness.models.loading",
    "load_tokenizer": "harness.models.loading",
    "prompt_texts": "harness.models.generation",
}

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


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'harness.models' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
