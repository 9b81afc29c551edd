"""Chat templates: the tokenizer's own, or the documented plain template for base models without one.

The plain template (``PLAIN_TEMPLATE``) renders::

    <bos>[system text\\n]User: <user text>\\nAssistant: <assistant text><eos>\\n ...

and, with ``add_generation_prompt``, ends with ``Assistant: ``. Short markers
keep it cheap for tiny vocabularies; ``{% generation %}`` marks assistant spans
so ``return_assistant_tokens_mask`` works with it too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

PLAIN_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] + '\n' }}"
    "{% elif message['role'] == 'user' %}{{ 'User: ' + message['content'] + '\n' }}"
    "{% elif message['role'] == 'assistant' %}{{ 'Assistant: ' }}"
    "{% generation %}{{ message['content'] + eos_token }}{% endgeneration %}{{ '\n' }}"
    "{% else %}{{ message['role'] + ': ' + message['content'] + '\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}"
)


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
    text = Path(choice).read_text(encoding="utf-8")
    tokenizer.chat_template = text
    return text, str(choice)
