"""The ``openai`` backend: the official SDK's AsyncOpenAI, OpenAI or any compatible server.

The SDK's own retries are off (``max_retries=0``): ours are the ones that run,
so every attempt is counted and ``retry-after`` is honoured in one place.
"""

from __future__ import annotations

from typing import Any

import openai

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


class OpenAIBackend:
    @staticmethod
    def identity(config: JudgeConfig) -> str:
        """Verdicts are cached by model name (the backend name is part of the key too)."""
        return config.model

    def __init__(self, config: JudgeConfig) -> None:
        self._client = openai.AsyncOpenAI(
            api_key=api_key(config), base_url=config.base_url, max_retries=0, timeout=config.timeout_s
        )
        self._model = config.model
        # OpenAI's own API wants max_completion_tokens (newer models refuse max_tokens); servers that
        # mimic it (vLLM, llama.cpp) all read max_tokens.
        self._token_param = "max_completion_tokens" if config.base_url is None else "max_tokens"
        self._temperature: float | None = 0.0

    async def complete(self, system: str, user: str, max_tokens: int) -> Completion:
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": user}
        ]
        kwargs: dict[str, Any] = {"model": self._model, "messages": messages, self._token_param: max_tokens}
        if self._temperature is not None:
            kwargs["temperature"] = self._temperature
        try:
            response = await self._client.chat.completions.create(**kwargs)
        except openai.BadRequestError as exc:
            if self._adapt(str(exc)):
                # Asked again at once, through the retry loop, so the request is counted.
                raise TransientError(f"adapted to the model: {_message(exc)}", retry_after_s=0.0) from None
            raise status_error(400, _message(exc), exc.response.headers) from None
        except Exception as exc:
            raise _classify(exc) from None
        return _completion(response, system, user)

    def _adapt(self, message: str) -> bool:
        """Drop what a model refuses (sampling settings on reasoning models), once."""
        lowered = message.lower()
        if "temperature" in lowered and self._temperature is not None:
            self._temperature = None
            return True
        if "max_tokens" in lowered and self._token_param == "max_tokens":
            self._token_param = "max_completion_tokens"
            return True
        return False

    async def aclose(self) -> None:
        await self._client.close()


def _completion(response: Any, system: str, user: str) -> Completion:
    try:
        text = response.choices[0].message.content or ""
    except (AttributeError, IndexError, TypeError):
        raise TransientError("malformed response: no choices[0].message.content") from None
    usage = getattr(response, "usage", None)
    if usage is None or usage.prompt_tokens is None:
        tokens_in, tokens_out = estimate_usage(system, user, text)
    else:
        tokens_in, tokens_out = int(usage.prompt_tokens), int(usage.completion_tokens or 0)
    return Completion(text, tokens_in, tokens_out)


def _message(exc: openai.APIStatusError) -> str:
    return sdk_error_message(exc)


def _classify(exc: Exception) -> BackendError:
    return classify_sdk_error(exc, openai)
