"""The ``local`` backend: an HF chat model run in-process through transformers (greedy = temperature 0).

``model`` is a local folder or hub id. Generation runs in a worker thread, one
judgement at a time (one model, and CPU threads are better spent inside one
forward pass), so the event loop keeps persisting verdicts meanwhile. A prompt
that does not fit the model's context is a failed judgement, never silently cut.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from harness.judge.backends.base import Completion, FatalError, RequestError
from harness.judge.config import JudgeConfig


class LocalBackend:
    @staticmethod
    def identity(config: JudgeConfig) -> str:
        return local_model_identity(config.model)

    def __init__(self, config: JudgeConfig) -> None:
        self._path = config.model
        self._loaded: Any = None
        self._lock = asyncio.Lock()

    async def complete(self, system: str, user: str, max_tokens: int) -> Completion:
        async with self._lock:
            return await asyncio.to_thread(self._generate, system, user, max_tokens)

    def _generate(self, system: str, user: str, max_tokens: int) -> Completion:
        from harness.models.generation import encode_rendered, generate

        loaded = self._load()
        tok = loaded.tokenizer
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": user}
        ]
        rendered = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        prompt_tokens = len(encode_rendered(tok, rendered))
        context = int(getattr(loaded.model.config, "max_position_embeddings", 0) or 0)
        room = context - prompt_tokens if context else max_tokens
        if room < 1:
            raise RequestError(f"prompt is {prompt_tokens} tokens; the judge model's context is {context}")
        text = generate(
            loaded.model,
            tok,
            [rendered],
            max_new_tokens=min(max_tokens, room),
            stop_token_ids=loaded.stop_token_ids,
            batch_size=1,
        )[0]
        # Re-counted from the decoded text (the shared generate() returns text): close, not exact.
        output_tokens = len(tok(text, add_special_tokens=False)["input_ids"]) if text else 0
        return Completion(text, prompt_tokens, output_tokens)

    def _load(self) -> Any:
        if self._loaded is None:
            from harness.errors import ModelError
            from harness.models.loading import load_base

            try:
                # Full precision: a judge's verdicts should not carry quantization error.
                self._loaded = load_base(self._path, load_in_4bit=False)
            except ModelError as exc:
                raise FatalError(str(exc)) from None
        return self._loaded

    async def aclose(self) -> None:
        self._loaded = None


def local_model_identity(path: str) -> str:
    """What the cache keys a local judge by: the path plus its weight files' sizes and times.

    Hashing gigabytes of weights on every run would cost more than the judging; a
    changed file changes its size or modification time.
    """
    folder = Path(path)
    if not folder.is_dir():
        return path
    weights = {".safetensors", ".bin", ".json"}
    files = sorted(f for f in folder.iterdir() if f.is_file() and f.suffix in weights)
    stamps = ",".join(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files)
    return f"{folder.resolve()}|{stamps}"
