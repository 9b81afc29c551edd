"""Judge backends: the built-in ``openai`` (and compatible servers), ``anthropic``, ``local``
(transformers), and users' own, all through one registry (:mod:`.registry`)."""

from __future__ import annotations

from harness.judge.backends.base import (
    JUDGE_WIDE_KINDS,
    Backend,
    BackendError,
    Completion,
    FatalError,
    RequestError,
    TransientError,
)
from harness.judge.backends.registry import (
    ENTRY_POINT_GROUP,
    backend_class,
    backend_identity,
    known_backends,
    make_backend,
    register_backend,
    unregister_backend,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "JUDGE_WIDE_KINDS",
    "Backend",
    "BackendError",
    "Completion",
    "FatalError",
    "RequestError",
    "TransientError",
    "backend_class",
    "backend_identity",
    "known_backends",
    "make_backend",
    "register_backend",
    "unregister_backend",
]
