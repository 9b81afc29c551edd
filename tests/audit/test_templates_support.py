"""Shared helpers for the template and mask audit tests (real tokenizers, templates, conversations).

Everything comes from ``tests/fixtures/templates`` (see its SOURCES.md). Imported by the
``test_templates*`` / ``test_masking*`` modules; it holds no tests itself.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness.data.record import ASSISTANT, SYSTEM, USER, Record, Turn

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "templates"
TEMPLATES = FIXTURES / "chat_templates"
PHI3 = FIXTURES / "phi-3-mini"
MISTRAL = FIXTURES / "mistral-7b-instruct-v0.2"

# The plain template as it once was: the separator space in the generation prompt, outside the
# answer (SentencePiece then glues it to the answer's first word in training only).
SPACE_IN_PROMPT = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] + '\n' }}"
    "{% elif message['role'] == 'user' %}{{ 'User: ' + message['content'] + '\n' }}"
    "{% elif message['role'] == 'assistant' %}{{ 'Assistant: ' }}"
    "{% generation %}{{ message['content'] + eos_token }}{% endgeneration %}{{ '\n' }}"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}"
)


def load(path: Path) -> Any:
    """A fresh tokenizer (tests change its template), the way the harness loads one."""
    from harness.models import load_tokenizer

    return load_tokenizer(path)[0]


@lru_cache(maxsize=1)
def conversation_rows() -> tuple[tuple[tuple[str, str], ...], ...]:
    rows = []
    for line in (FIXTURES / "conversations.jsonl").read_text(encoding="utf-8").splitlines():
        msgs = json.loads(line)["messages"]
        rows.append(tuple((m["role"], m["content"]) for m in msgs))
    return tuple(rows)


def pairs(short_only: bool = True) -> list[tuple[str, str]]:
    """Real (question, answer) pairs; ``short_only`` drops the 15 long answers."""
    out = [(row[0][1], row[1][1]) for row in conversation_rows()]
    return [p for p in out if len(p[1]) < 1500] if short_only else out


def long_answers() -> list[str]:
    return [row[1][1] for row in conversation_rows() if len(row[1][1]) >= 1500]


def record(*turns: tuple[str, str], index: int = 0) -> Record:
    return Record(turns=tuple(Turn(r, c) for r, c in turns), index=index, source="test", format="messages")


def chat(question: str, answer: str, *, system: str | None = None, index: int = 0) -> Record:
    turns = [(USER, question), (ASSISTANT, answer)]
    if system is not None:
        turns.insert(0, (SYSTEM, system))
    return record(*turns, index=index)


def dolly_records() -> list[Record]:
    out = []
    for i, line in enumerate((FIXTURES / "dolly_prerendered.jsonl").read_text(encoding="utf-8").splitlines()):
        msgs = json.loads(line)["messages"]
        out.append(record(*((m["role"], m["content"]) for m in msgs), index=i))
    return out


def template_config(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((TEMPLATES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def _token_text(value: Any) -> str | None:
    if isinstance(value, dict):
        return str(value.get("content"))
    return value if isinstance(value, str) else None


def family_tokenizer(config: dict[str, Any], template: str | None = None,
                     extra_specials: tuple[str, ...] = ()) -> Any:
    """The Phi-3 tokenizer dressed as another family: that family's special tokens, BOS/EOS and template.

    Template and mask checks only need the control tokens to be single tokens; the rest of the
    vocabulary does not matter to them.
    """
    tok = load(PHI3)
    text = template if template is not None else config["chat_template"]
    decoder = config.get("added_tokens_decoder", {})
    # Only the specials the template writes: adding Llama 3's 256 reserved tokens takes seconds.
    specials = [v["content"] for v in decoder.values() if v.get("special") and v["content"] in text]
    specials += [t for t in extra_specials if t in text]
    vocab = tok.get_vocab()
    extra = [t for t in dict.fromkeys(specials) if t not in vocab]
    if extra:
        tok.add_special_tokens({"additional_special_tokens": extra}, replace_extra_special_tokens=False)
    for key in ("bos_token", "eos_token"):
        token = _token_text(config.get(key))
        if token:
            tok.add_special_tokens({key: token})
    tok.chat_template = text
    return tok
