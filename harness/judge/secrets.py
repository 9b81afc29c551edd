"""Keep API keys out of everything the harness writes: results, caches, logs, error messages.

Keys are read from the environment by name, remembered here, and every text
that leaves a backend (an SDK error message, a server's error body) passes
through :func:`redact` before it is logged, cached or reported.
"""

from __future__ import annotations

import os
import re

from harness.errors import JudgeError
from harness.judge.config import JudgeConfig

_SECRETS: set[str] = set()
# Shapes of provider keys, in case a server echoes one back (even a key we were not given).
_KEY_SHAPES = re.compile(r"\b(?:sk|sk-ant|sk-proj|rk|pk)-[A-Za-z0-9_\-]{8,}")
MASK = "***"
UNUSED_KEY = "unused"  # what a keyless OpenAI-compatible local server is sent


def remember_secret(value: str) -> None:
    if len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """``text`` with every remembered key, and anything shaped like a key, masked."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return _KEY_SHAPES.sub(MASK, text)


def api_key(config: JudgeConfig) -> str:
    """The judge's key, from the environment variable it names; never from a file."""
    env = config.key_env
    if env is None:
        return UNUSED_KEY
    value = os.environ.get(env, "").strip()
    if value:
        remember_secret(value)
        return value
    if config.base_url:
        # A self-hosted OpenAI-compatible server (vLLM, llama.cpp) usually checks no key.
        return UNUSED_KEY
    raise JudgeError(f"judge {config.name!r}: the environment variable {env} is not set",
                     hint=f"export {env}=... (keys are read from the environment only)")
