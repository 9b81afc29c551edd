"""Chat templates: the tokenizer's own, the documented plain template, a .jinja file, or a clone.

A template choice (:data:`TemplateChoice`) is what a suite's ``base.chat_template`` says,
with paths resolved: None (the tokenizer's own, else plain), ``"plain"``, a .jinja path,
or a :class:`CloneSpec` (another model's template and special tokens; see
:mod:`harness.models.template_clone`). Every stage turns a suite into its choice with
:func:`harness.models.suite_base.suite_chat_template`, so training, scoring, the audit and
export load the same tokenizer.

The plain template (``PLAIN_TEMPLATE``) renders::

    <bos>[system text\\n]User: <user text>\\nAssistant: <assistant text><eos>\\n ...

and, with ``add_generation_prompt``, ends with ``Assistant:`` (no space). The space
after the colon belongs to the assistant's turn: SentencePiece glues it to the answer's
first word (``':' '▁The'``), so a prompt ending in the space would end with a lone ``'▁'``
that training never put there. Short markers keep it cheap for tiny vocabularies;
``{% generation %}`` marks assistant spans (space, content, EOS) so
``return_assistant_tokens_mask`` works with it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.userfiles import read_text

PLAIN_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] + '\n' }}"
    "{% elif message['role'] == 'user' %}{{ 'User: ' + message['content'] + '\n' }}"
    "{% elif message['role'] == 'assistant' %}{{ 'Assistant:' }}"
    "{% generation %}{{ ' ' + message['content'] + eos_token }}{% endgeneration %}{{ '\n' }}"
    "{% else %}{{ message['role'] + ': ' + message['content'] + '\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)


@dataclass(frozen=True)
class CloneSpec:
    """Clone the chat template and special tokens of ``source`` (a tokenizer folder or config file)."""

    source: Path
    resize_to_multiple_of: int | None = 64


TemplateChoice = str | CloneSpec | None
CLONE_PREFIX = "clone:"


def parse_choice(text: str | None) -> TemplateChoice:
    """A command-line ``--chat-template``: ``plain``, a .jinja path, or ``clone:DIR_OR_FILE``."""
    if text and text.startswith(CLONE_PREFIX):
        return CloneSpec(Path(text.removeprefix(CLONE_PREFIX)))
    return text


def resolve_template(tokenizer: Any, choice: str | None) -> tuple[str, str]:
    """Set the template on ``tokenizer``; return (template, where it came from).

    ``choice``: None (tokenizer's own, else plain), ``"plain"``, or a path to a .jinja file.
    """
    if choice is None:
        own = getattr(tokenizer, "chat_template", None)
        if isinstance(own, str) and own.strip():
            return own, "tokenizer"
        tokenizer.chat_template = PLAIN_TEMPLATE
        return PLAIN_TEMPLATE, "plain (tokenizer has no chat template)"
    if choice == "plain":
        tokenizer.chat_template = PLAIN_TEMPLATE
        return PLAIN_TEMPLATE, "plain"
    text = read_text(choice, "chat template file", kind="template")
    tokenizer.chat_template = text
    return text, str(choice)
