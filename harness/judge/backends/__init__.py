"""Judge backends: ``openai`` (and compatible servers), ``anthropic``, ``local`` (transformers)."""

from __future__ import annotations

from harness.judge.backends.base import (
    Backend,
    BackendError,
    Completion,
    FatalError,
    RequestError,
    TransientError,
)
from harness.judge.config import JudgeConfig


def make_backend(config: JudgeConfig) -> Backend:
    """The backend a judge names (SDKs are imported only when used)."""
    if config.backend == "openai":
        from harness.judge.backends.openai_api import OpenAIBackend

        return OpenAIBackend(config)
    if config.backend == "anthropic":
        from harness.judge.backends.anthropic_api import AnthropicBackend

        return AnthropicBackend(config)
    from harness.judge.backends.local_hf import LocalBackend

    return LocalBackend(config)


__all__ = [
    "Backend",
    "BackendError",
    "Completion",
    "FatalError",
    "RequestError",
    "TransientError",
    "make_backend",
]
