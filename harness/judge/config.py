"""What a suite's ``judges:`` list holds: one judge (backend, model, rubric, protocol, limits)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Protocol = Literal["pointwise", "pairwise"]
# Which items a judge sees: the eval set's outputs; MMLU answers only when asked for. General text
# (the forgetting canary) has no output to judge. "train" is what the audit's review judges.
Split = Literal["eval", "mmlu", "train"]

DEFAULT_KEY_ENV: dict[str, str] = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}


class JudgeConfig(BaseModel):
    """One judge. Keys come from the environment only (``api_key_env``), never from the suite."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str = Field(min_length=1)
    # A registered name (openai, anthropic, local, an entry point's) or module:Class.
    backend: str = Field(min_length=1)
    model: str = Field(min_length=1)
    # A rubric name in judges/ (or a rubric_dirs folder), or a path to a rubric file.
    rubric: str = Field(min_length=1)
    protocol: Protocol = "pointwise"
    splits: tuple[Split, ...] = Field(("eval",), min_length=1)
    # An OpenAI-compatible server (vLLM, llama.cpp) or another Anthropic endpoint.
    base_url: str | None = None
    api_key_env: str | None = None
    concurrency: int = Field(8, ge=1, le=256)
    max_retries: int = Field(6, ge=0, le=20)
    timeout_s: float = Field(60, gt=0)
    budget_tokens: int | None = Field(None, gt=0)
    budget_usd: float | None = Field(None, gt=0)
    sample: float | None = Field(None, gt=0, le=1)
    anchors: str | None = None
    # Judgements allowed to end without a verdict (failed or unparseable) before the judge's gates fail.
    max_failed: int = Field(0, ge=0)
    # An answer with no readable verdict is asked again this many times in the run (never cached).
    unparseable_retries: int = Field(2, ge=0, le=10)

    @property
    def key_env(self) -> str | None:
        """The environment variable that holds this judge's key (None: the backend needs none)."""
        return self.api_key_env or DEFAULT_KEY_ENV.get(self.backend)
