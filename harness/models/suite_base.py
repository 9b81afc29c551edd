"""A suite's base model: its ``base:`` section (path, 4-bit, chat template, stop tokens) loaded once."""

from __future__ import annotations

from harness.config import SuiteConfig
from harness.models.loading import LoadedModel, load_base
from harness.models.templates import CloneSpec, TemplateChoice


def suite_chat_template(suite: SuiteConfig) -> TemplateChoice:
    """``base.chat_template`` as the loaders take it: a .jinja path resolved against the suite file,
    ``"plain"``, None for the tokenizer's own, or a :class:`CloneSpec` with its source resolved."""
    tmpl = suite.base.chat_template
    if tmpl is None or tmpl == "plain":
        return tmpl
    if isinstance(tmpl, str):
        return str(suite.resolve(tmpl))
    return CloneSpec(suite.resolve(tmpl.clone), tmpl.resize_to_multiple_of)


def load_suite_base(suite: SuiteConfig) -> LoadedModel:
    """The suite's base, loaded as its ``base:`` section says."""
    return load_base(
        suite.resolve(suite.base.path),
        load_in_4bit=suite.base.load_in_4bit,
        chat_template=suite_chat_template(suite),
        stop_token_ids=suite.base.stop_token_ids,
    )
