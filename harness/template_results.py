"""Typed pieces of ``results.json`` ``template``: the chat template's facts, how answers ended, and
renderings token by token. :class:`harness.results.TemplateParity` (with the findings) holds them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.frozen import Frozen as _Frozen


class TemplateInfo(_Frozen):
    """The chat template a run trained and scored with, and what it did to the tokenizer."""

    source: str  # "tokenizer", "plain", a .jinja path, or "clone of PATH"
    template_sha256: str
    clone_source: str | None = None
    added_tokens: list[str] = Field(default_factory=list)  # cloned tokens new to the base (trained)
    added_ids: list[int] = Field(default_factory=list)
    eos_token: str | None = None
    eos_token_id: int | None = None
    end_of_turn: str | None = None  # the token the template writes after an assistant turn
    end_of_turn_id: int | None = None
    stop_token_ids: list[int] = Field(default_factory=list)
    vocab_size: int = 0  # ids in the tokenizer (= embedding rows after a clone)
    fingerprint: str = ""  # template, special tokens and their ids, hashed


class TokenCell(_Frozen):
    id: int
    text: str  # the token's vocabulary piece ("▁the", "<0x0A>", "<|im_end|>"; escaped by the report)
    loss: bool = False
    special: bool = False


class TokenExample(_Frozen):
    """A rendering token by token: a training example (loss marked) or a generation prompt."""

    item_id: str
    kind: Literal["training", "generation_prompt"]
    tokens: list[TokenCell] = Field(default_factory=list)
    answer_start: int | None = None  # training: the token where the final answer's loss starts
    left_out: int = 0  # tokens past the shown ones


class StopStats(_Frozen):
    """How one model's answers ended: at the template's end-of-turn, another stop token, or not at all."""

    model: str
    items: int
    stopped: int  # ended at a stop token
    end_of_turn: int  # ended at the template's end-of-turn token
    unterminated: int  # ran to max_new_tokens without a stop token
    max_new_tokens: int

    @property
    def stop_rate(self) -> float:
        return self.stopped / self.items if self.items else float("nan")

    @property
    def end_of_turn_rate(self) -> float:
        return self.end_of_turn / self.items if self.items else float("nan")


__all__ = ["StopStats", "TemplateInfo", "TokenCell", "TokenExample"]
