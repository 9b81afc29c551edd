"""The ``anthropic`` backend: the official SDK's AsyncAnthropic (Messages API).

SDK 1.0 and later dropped ``temperature`` from ``messages.create``; the API
still takes it on models with sampling settings, so it goes in ``extra_body``.
Models that refuse it answer 400 naming it; it is then dropped for the run.
"""

from __future__ import annotations

from typing import Any

import anthropic

from harness.judge.backends.base import (
    BackendError,
    Completion,
    TransientError,
    classify_sdk_error,
    estimate_usage,
    sdk_error_message,
    status_error,
)
from harness.judge.config import JudgeConfig
from harness.judge.secrets import api_key


class AnthropicBackend:
    @staticmethod
    def identity(config: JudgeConfig) -> str:
        """Verdicts are cached by model name (the backend name is part of the key too)."""
        return config.model

    def __init__(self, config: JudgeConfig) -> None:
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key(config), base_url=config.base_url, max_retries=0, timeout=config.timeout_s
        )
        self._model = config.model
        self._temperature: float | None = 0.0

    async def complete(self, system: str, user: str, max_tokens: int) -> Completion:
        kwargs: dict[str, Any] = {
            "model": self._model,
            "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": user}],
        }
        if system:
            kwargs["system"] = system
        if self._temperature is not None:
            kwargs["extra_body"] = {"temperature": self._temperature}
        try:
            response = await self._client.messages.create(**kwargs)
        except anthropic.BadRequestError as exc:
            if "temperature" in str(exc).lower() and self._temperature is not None:
                self._temperature = None  # asked again at once, through the retry loop (counted)
                raise TransientError(f"adapted to the model: {_message(exc)}", retry_after_s=0.0) from None
            raise status_error(400, _message(exc), exc.response.headers) from None
        except Exception as exc:
            raise _classify(exc) from None
        return _completion(response, system, user)

    async def aclose(self) -> None:
        await self._client.close()


def _completion(response: Any, system: str, user: str) -> Completion:
    try:
        text = "".join(block.text for block in response.content if getattr(block, "type", "") == "text")
    except (AttributeError, TypeError):
        raise TransientError("malformed response: no text content") from None
    usage = getattr(response, "usage", None)
    if usage is None or usage.input_tokens is None:
        tokens_in, tokens_out = estimate_usage(system, user, text)
    else:
        tokens_in, tokens_out = int(usage.input_tokens), int(usage.output_tokens or 0)
    return Completion(text, tokens_in, tokens_out)


def _message(exc: anthropic.APIStatusError) -> str:
    return sdk_error_message(exc)


def _classify(exc: Exception) -> BackendError:
    return classify_sdk_error(exc, anthropic)
