"""Give a base model another model's chat template and special tokens, as trl's ``clone_chat_template`` does.

The source is a tokenizer folder or a lone ``tokenizer_config.json`` (what model
repositories and ``chat_templates/*.json`` collections ship); it is read as JSON,
so validating a suite needs neither transformers nor the source's vocabulary.

Cloning, in order (trl 1.16 ``clone_chat_template``, with two deliberate changes):

1. the template is copied, and every added token of the source that the target
   lacks is added with its own flags (``special``, ``lstrip``...), in source-id order;
2. EOS becomes the template's *end-of-turn*: the first control token the template
   writes after an assistant turn (``<|im_end|>``, ``<|eot_id|>``, ``<|end|>``), else
   the source's EOS. trl takes the source's EOS, which for Llama 3 and Phi-3 is not
   what ends a turn, so generation would not stop there;
3. the tokenizer is padded with ``<extra_id_N>`` tokens up to the embedding row count
   (rounded up to ``resize_to_multiple_of``), so every id the model can write decodes.

The row count comes from the model's ``config.json`` (no weights), so a tokenizer
cloned without its model (the scorer's cache keys, the audit) has the same ids as the
one training used. :func:`resize_embeddings` then gives the model those rows, each new
row set to the mean of the old ones: deterministic (trl's default draws them at
random), so the base, every adapter's base and the exported model agree bit for bit.
Embeddings are never quantized, so this works on a 4-bit base too.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import DataError
from harness.io import sha256_text
from harness.userfiles import read_text

TOKENIZER_CONFIG = "tokenizer_config.json"
_TURN_PROBE = ("\ue000", "\ue001")  # private-use sentinels: no template rewrites them


class CloneSourceError(ValueError):
    """The clone source is missing, unreadable, or holds no chat template (one line)."""


@dataclass(frozen=True)
class SourceToken:
    """An added token of the source tokenizer, with the flags it is added with."""

    content: str
    special: bool = True
    lstrip: bool = False
    rstrip: bool = False
    normalized: bool = False
    single_word: bool = False


@dataclass(frozen=True)
class CloneSource:
    """What a clone copies from its source."""

    path: str
    chat_template: str
    tokens: tuple[SourceToken, ...]
    eos_token: str | None


@dataclass(frozen=True)
class ClonedTemplate:
    """What cloning did to a tokenizer: the rows the model needs and which of them to train."""

    source: str
    template_sha256: str
    added: tuple[int, ...]  # ids of the source's tokens new to this tokenizer: their rows are trained
    added_tokens: tuple[str, ...]
    padding: tuple[int, ...]  # <extra_id_N> ids that only make the vocabulary fill the embedding rows
    end_of_turn: str
    end_of_turn_id: int
    first_new_id: int  # the target tokenizer's length before cloning: rows from here on are new
    rows: int  # embedding rows the model needs

    def fingerprint(self) -> str:
        """What identifies the clone's effect on ids (for hashes and cache keys)."""
        return sha256_text(self.source, self.template_sha256, ",".join(self.added_tokens),
                           str(self.padding), self.end_of_turn, str(self.rows))


def read_clone_source(path: str | Path) -> CloneSource:
    """The template, added tokens and EOS of a tokenizer folder or a ``tokenizer_config.json``."""
    p = Path(path)
    if p.is_dir():
        config_path = p / TOKENIZER_CONFIG
        config = _read_json(config_path) if config_path.is_file() else {}
        template = _folder_template(p, config)
        tokens = _added_tokens(config) or _tokenizer_json_tokens(p / "tokenizer.json")
    elif p.is_file():
        config = _read_json(p)
        template = _template_of(config.get("chat_template"))
        tokens = _added_tokens(config)
    else:
        raise CloneSourceError(f"no such tokenizer folder or tokenizer_config.json: {p}")
    if not template:
        raise CloneSourceError(f"{p} holds no chat_template to clone")
    return CloneSource(path=str(p), chat_template=template, tokens=tokens,
                       eos_token=_token_text(config.get("eos_token")))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(read_text(path, "tokenizer config", kind="template"))  # bounded, regular
    except DataError as exc:
        raise CloneSourceError(str(exc)) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise CloneSourceError(f"{path}: not a readable JSON file ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise CloneSourceError(f"{path}: expected a JSON object (a tokenizer_config.json)")
    return data


def _folder_template(folder: Path, config: dict[str, Any]) -> str | None:
    """transformers >= 4.43 saves the template beside the config (``chat_template.jinja``/``.json``)."""
    jinja = folder / "chat_template.jinja"
    if jinja.is_file():
        try:
            return read_text(jinja, "chat template file", kind="template")
        except DataError as exc:
            raise CloneSourceError(str(exc)) from None
    as_json = folder / "chat_template.json"
    if as_json.is_file():
        return _template_of(_read_json(as_json).get("chat_template"))
    return _template_of(config.get("chat_template"))


def _template_of(value: Any) -> str | None:
    """A template string; of named templates (a list of ``{name, template}``), the default one."""
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, list):
        named = {str(t.get("name")): t.get("template") for t in value if isinstance(t, dict)}
        default = named.get("default")
        return default if isinstance(default, str) and default.strip() else None
    return None


def _token_text(value: Any) -> str | None:
    """A special token given as a string or as a serialized ``AddedToken`` (``{"content": ...}``)."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) and value else None


def _added_tokens(config: dict[str, Any]) -> tuple[SourceToken, ...]:
    decoder = config.get("added_tokens_decoder")
    if not isinstance(decoder, dict):
        return ()
    rows = sorted((int(k), v) for k, v in decoder.items() if str(k).isdigit() and isinstance(v, dict))
    return tuple(_source_token(v) for _, v in rows if _token_text(v))


def _tokenizer_json_tokens(path: Path) -> tuple[SourceToken, ...]:
    if not path.is_file():
        return ()
    added = _read_json(path).get("added_tokens")
    rows = sorted((t.get("id", 0), t) for t in added or [] if isinstance(t, dict) and _token_text(t))
    return tuple(_source_token(t) for _, t in rows)


def _source_token(entry: dict[str, Any]) -> SourceToken:
    return SourceToken(content=str(entry["content"]), special=bool(entry.get("special", True)),
                       lstrip=bool(entry.get("lstrip", False)), rstrip=bool(entry.get("rstrip", False)),
                       normalized=bool(entry.get("normalized", False)),
                       single_word=bool(entry.get("single_word", False)))


def model_vocab_size(model_path: str | Path) -> int:
    """The embedding rows the model's ``config.json`` declares (0 without one); no weights are read."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(str(model_path)).get_text_config()
    except (OSError, ValueError):
        return 0  # no config.json (a bare tokenizer folder): the tokenizer's own length decides
    return int(getattr(config, "vocab_size", 0) or 0)


def clone_template(tokenizer: Any, source: CloneSource, *, rows: int | None = None,
                   multiple: int | None = 64) -> ClonedTemplate:
    """Copy ``source``'s template and tokens onto ``tokenizer`` (in place); see the module docstring.

    ``rows``: the model's own embedding rows (:func:`model_vocab_size`). The tokenizer ends with
    ``max(rows, its length after adding)`` ids, rounded up to ``multiple``.
    """
    from transformers import AddedToken

    first_new = len(tokenizer)
    tokenizer.chat_template = source.chat_template
    have = tokenizer.get_vocab()
    new = [t for t in source.tokens if t.content not in have]
    tokenizer.add_tokens([AddedToken(t.content, single_word=t.single_word, lstrip=t.lstrip, rstrip=t.rstrip,
                                     normalized=t.normalized, special=t.special) for t in new])
    end = end_of_turn(tokenizer, source.eos_token)
    tokenizer.eos_token = end
    target = max(rows or 0, len(tokenizer))
    if multiple:
        target = multiple * math.ceil(target / multiple)
    padding = _pad_vocabulary(tokenizer, target)
    added = tuple(int(tokenizer.convert_tokens_to_ids(t.content)) for t in new)
    return ClonedTemplate(source=source.path, template_sha256=sha256_text(source.chat_template),
                          added=added, added_tokens=tuple(t.content for t in new), padding=padding,
                          end_of_turn=end, end_of_turn_id=int(tokenizer.convert_tokens_to_ids(end)),
                          first_new_id=first_new, rows=len(tokenizer))


def end_of_turn(tokenizer: Any, fallback: str | None) -> str:
    """The control token the template writes right after an assistant turn's content."""
    user, reply = _TURN_PROBE
    try:
        text = str(tokenizer.apply_chat_template(
            [{"role": "user", "content": user}, {"role": "assistant", "content": reply}], tokenize=False))
    except Exception as exc:  # jinja2 errors, raise_exception(...): the template cannot render a turn
        raise CloneSourceError(
            f"the cloned chat template cannot render a user/assistant turn: {exc}") from None
    after = text[text.find(reply) + len(reply):] if reply in text else ""
    controls = {str(t) for t in tokenizer.added_tokens_decoder.values()}
    found = sorted((after.find(c), -len(c), c) for c in controls if c and c in after)
    if found:
        return found[0][2]
    if fallback and fallback in tokenizer.get_vocab():
        return fallback
    raise CloneSourceError("cannot tell the template's end-of-turn token: it writes no control token "
                           "after an assistant turn, and the source has no EOS")


def _pad_vocabulary(tokenizer: Any, target: int) -> tuple[int, ...]:
    """Add ``<extra_id_N>`` tokens until the tokenizer has ``target`` ids (trl's dummy tokens)."""
    from transformers import AddedToken

    ids: list[int] = []
    idx = 0
    while len(tokenizer) < target:
        name = f"<extra_id_{idx}>"
        idx += 1
        if tokenizer.add_tokens(AddedToken(name)) == 1:
            ids.append(int(tokenizer.convert_tokens_to_ids(name)))
    return tuple(ids)


def resize_embeddings(model: Any, clone: ClonedTemplate) -> None:
    """Give ``model`` the clone's row count; new rows (input and, if untied, output) = mean of the old."""
    import torch

    rows_before = model.get_input_embeddings().weight.shape[0]
    if rows_before != clone.rows:
        model.resize_token_embeddings(clone.rows, mean_resizing=False)
    start = min(clone.first_new_id, rows_before)
    with torch.no_grad():
        for layer in {id(m): m for m in (model.get_input_embeddings(), model.get_output_embeddings())
                      if m is not None}.values():
            weight = layer.weight
            weight[start:] = weight[:start].mean(dim=0, keepdim=True).to(weight.dtype)
    text_config = model.config.get_text_config()
    text_config.eos_token_id = clone.end_of_turn_id


__all__ = ["CloneSource", "CloneSourceError", "ClonedTemplate", "SourceToken", "clone_template",
           "end_of_turn", "model_vocab_size", "read_clone_source", "resize_embeddings"]
