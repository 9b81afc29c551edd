"""What every judge backend does, and the three ways a judgement can fail.

A backend is a class registered by name (:mod:`harness.judge.backends.registry`) or
named ``module:Class`` in a judge config. The contract:

- ``Class(config: JudgeConfig)``: built once per judge run, inside the run's event
  loop; read what you need from the config (``model``, ``base_url``, ``timeout_s``,
  and the key through :func:`harness.judge.secrets.api_key`, never from a file).
- ``async complete(system, user, max_tokens) -> Completion``: one judgement; called
  concurrently (up to the judge's ``concurrency``); no retries of its own: the
  engine retries, counts and budgets every attempt.
- ``async aclose()``: release clients and models; called once when the judge is done.
- optional ``identity(config) -> str`` (classmethod or staticmethod): what the verdict
  cache keys the judge model by (default ``module:Class/model``).

Failures are one of:

- :class:`TransientError`: worth retrying (429, 5xx, timeouts, dropped
  connections, a garbled body); carries the server's ``retry-after`` if any, and
  a ``kind``. Kinds in :data:`JUDGE_WIDE_KINDS` (``"connection"``: refused, DNS,
  TLS) do not go away from one item to the next: their retry budget is shared by
  all of the judge's requests, and once it is spent every request fails at once.
- :class:`RequestError`: this judgement cannot succeed (400, a prompt longer
  than the model's context); the item is marked failed, the run goes on.
- :class:`FatalError`: no judgement can succeed (bad key, unknown model); the
  judge stops at once rather than failing every item the same way.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

from harness.judge.secrets import redact

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
FATAL_STATUS = frozenset({401, 403, 404})
MAX_RETRY_AFTER_S = 120.0
# Transient failures that hit every request alike: retried as one judge-wide budget (a circuit breaker).
JUDGE_WIDE_KINDS = frozenset({"connection"})


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    input_tokens: int
    output_tokens: int


class BackendError(Exception):
    """A backend failure; ``str()`` is already redacted."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message)[:500])


class TransientError(BackendError):
    """Worth retrying. ``kind``: ``"connection"`` (judge-wide, see :data:`JUDGE_WIDE_KINDS`), or any other
    word for a per-request failure (``"transient"``, ``"timeout"``, ``"rate_limit"``, ``"server"``)."""

    def __init__(self, message: str, *, retry_after_s: float | None = None, kind: str = "transient") -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.kind = kind


class RequestError(BackendError):
    pass


class FatalError(BackendError):
    pass


class Backend(Protocol):
    """A judge model behind an API or in-process (the contract is in this module's docstring)."""

    async def complete(self, system: str, user: str, max_tokens: int) -> Completion: ...

    async def aclose(self) -> None: ...


def status_error(status: int, message: str, headers: Mapping[str, str] | None) -> BackendError:
    """Classify an HTTP error status."""
    text = f"HTTP {status}: {message}"
    if status in RETRYABLE_STATUS or status >= 500:
        kind = "rate_limit" if status == 429 else "server"
        return TransientError(text, retry_after_s=retry_after(headers or {}), kind=kind)
    if status in FATAL_STATUS:
        return FatalError(text)
    return RequestError(text)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait: ``retry-after-ms``, else ``retry-after`` (seconds or date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms:
        try:
            return _clamp(float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if not raw:
        return None
    try:
        return _clamp(float(raw))
    except ValueError:
        when = email.utils.parsedate_to_datetime(raw) if _is_date(raw) else None
        return _clamp(when.timestamp() - time.time()) if when else None


def _is_date(raw: str) -> bool:
    try:
        email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return False
    return True


def _clamp(seconds: float) -> float:
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def estimate_usage(system: str, user: str, text: str) -> tuple[int, int]:
    """Token counts when a server reports none (about four characters a token)."""
    return max(1, (len(system) + len(user)) // 4), max(1, len(text) // 4)


def sdk_error_message(exc: Any) -> str:
    """The server's own message from an SDK status error (both SDKs wrap it the same way)."""
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(exc.message)


def classify_sdk_error(exc: Exception, sdk: ModuleType) -> BackendError:
    """Map an ``openai`` or ``anthropic`` SDK exception to our retry classes.

    Both official SDKs share one generated error hierarchy (same class names), so
    one mapping serves both; ``sdk`` is the module whose classes to test against.
    """
    import json

    if isinstance(exc, sdk.APIStatusError):
        return status_error(exc.status_code, sdk_error_message(exc), exc.response.headers)
    if isinstance(exc, sdk.APIConnectionError) and _never_connected(exc):
        return TransientError(f"cannot connect: {_root_message(exc)}", kind="connection")
    if isinstance(exc, sdk.APITimeoutError):
        return TransientError("timed out", kind="timeout")
    if isinstance(exc, sdk.APIConnectionError):
        return TransientError(f"connection failed: {_root_message(exc)}")
    if isinstance(exc, sdk.APIResponseValidationError | json.JSONDecodeError | ValueError):
        return TransientError(f"malformed response: {type(exc).__name__}")
    return RequestError(f"{type(exc).__name__}: {exc}")


# httpx's names for "the request never reached the server" (refused, no route, DNS, connect timeout):
# every request to that server fails the same way. A connection dropped mid-answer is not one of them.
_CONNECT_FAILURES = frozenset({"ConnectError", "ConnectTimeout", "ConnectionRefusedError", "gaierror"})


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _never_connected(exc: BaseException) -> bool:
    return any(type(e).__name__ in _CONNECT_FAILURES for e in _chain(exc))


def _root_message(exc: BaseException) -> str:
    """The SDK's message plus the innermost OS error under it ("Connection error. (ConnectionRefusedError:
    [Errno 111] ...)"); the implicit context chain can also hold unrelated errors, so only OS errors count."""
    message = str(getattr(exc, "message", "") or exc)
    root = next((e for e in reversed(_chain(exc)) if isinstance(e, OSError) and str(e)), None)
    return f"{message} ({type(root).__name__}: {root})" if root is not None else message
