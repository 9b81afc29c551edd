"""The normalized record every stage works on: role/content turns plus where it came from."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.io import sha256_text

ASSISTANT = "assistant"
USER = "user"
SYSTEM = "system"
TEXT = "text"  # plain-text corpora (perplexity), not a chat role


@dataclass(frozen=True, slots=True)
class Turn:
    role: str
    content: str


@dataclass(frozen=True, slots=True)
class Record:
    """One conversation (or one plain text), with its origin.

    ``index`` is the 0-based record number in its file (what ``audit.json`` refs
    point at); ``line`` is the 1-based line (JSONL/CSV) where it starts, if known.
    """

    turns: tuple[Turn, ...]
    index: int
    source: str
    format: str
    line: int | None = None
    meta: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_text(self) -> bool:
        return len(self.turns) == 1 and self.turns[0].role == TEXT

    @property
    def messages(self) -> list[dict[str, str]]:
        """OpenAI-style messages for ``apply_chat_template``."""
        return [{"role": t.role, "content": t.content} for t in self.turns]

    @property
    def prompt_turns(self) -> tuple[Turn, ...]:
        """Every turn before the final assistant turn (the whole record if none)."""
        last = self.last_assistant_index
        return self.turns if last is None else self.turns[:last]

    @property
    def last_assistant_index(self) -> int | None:
        for i in range(len(self.turns) - 1, -1, -1):
            if self.turns[i].role == ASSISTANT:
                return i
        return None

    @property
    def prompt(self) -> str:
        """The prompt side as plain text (for duplicate and leakage checks)."""
        return "\n".join(t.content for t in self.prompt_turns if t.role != SYSTEM)

    @property
    def response(self) -> str:
        """The target: the final assistant turn's content ("" when there is none)."""
        last = self.last_assistant_index
        if last is None:
            return self.turns[0].content if self.is_text else ""
        return self.turns[last].content

    @property
    def text(self) -> str:
        """The whole record as plain text."""
        return "\n".join(t.content for t in self.turns)

    @property
    def content_hash(self) -> str:
        return sha256_text(*(f"{t.role}\x1f{t.content}" for t in self.turns))
