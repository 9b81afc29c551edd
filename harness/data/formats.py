"""Format detection and normalization: alpaca, messages, conversations/ShareGPT, prompt/completion, text.

A row is a parsed JSON object (or a CSV/Parquet row as a dict). Each format
has one normalizer that returns turns or raises :class:`DataError` naming the
field. Detection looks at the keys of the first row; every row must then fit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from harness.data.record import ASSISTANT, SYSTEM, TEXT, USER, Turn
from harness.errors import DataError

FORMATS = ("alpaca", "messages", "conversations", "prompt_completion", "text")

# ShareGPT speaker names -> OpenAI roles. Unknown names are kept as they are:
# the template audit reports them (a template may drop them silently).
SHAREGPT_ROLES = {
    "human": USER,
    "user": USER,
    "gpt": ASSISTANT,
    "assistant": ASSISTANT,
    "chatgpt": ASSISTANT,
    "bing": ASSISTANT,
    "bard": ASSISTANT,
    "system": SYSTEM,
}


class RowError(Exception):
    """A row does not fit its format; the loader adds file and line."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(message)


def detect_format(row: Mapping[str, Any]) -> str | None:
    keys = set(row)
    if "messages" in keys:
        return "messages"
    if "conversations" in keys:
        return "conversations"
    if "instruction" in keys and "output" in keys:
        return "alpaca"
    if "prompt" in keys and "completion" in keys:
        return "prompt_completion"
    if "text" in keys:
        return "text"
    return None


def _string(row: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    if key not in row or row[key] is None:
        if required:
            raise RowError(key, "missing")
        return ""
    value = row[key]
    if not isinstance(value, str):
        raise RowError(key, f"expected a string, got {type(value).__name__}")
    return _check_unicode(key, value)


def _check_unicode(key: str, value: str) -> str:
    # JSON allows "\ud800"; such a string cannot be encoded, hashed or tokenized.
    if value.isascii():  # no surrogate is ASCII: skip the encode (most rows, a million times)
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = value[exc.start]
        raise RowError(key, f"invalid Unicode (lone surrogate U+{ord(bad):04X})") from None
    return value


def _alpaca(row: Mapping[str, Any]) -> list[Turn]:
    instruction = _string(row, "instruction")
    extra = _string(row, "input", required=False)
    output = _string(row, "output")
    system = _string(row, "system", required=False)
    user = f"{instruction}\n\n{extra}" if extra.strip() else instruction
    turns = [Turn(SYSTEM, system)] if system else []
    return [*turns, Turn(USER, user), Turn(ASSISTANT, output)]


def _content(value: Any, where: str) -> str:
    if isinstance(value, str):
        return _check_unicode(where, value)
    if isinstance(value, list):  # OpenAI content parts: keep the text parts
        texts = []
        for j, part in enumerate(value):
            if not isinstance(part, Mapping) or not isinstance(part.get("text", ""), str):
                raise RowError(f"{where}[{j}]", "expected a content part with a 'text' string")
            texts.append(str(part.get("text", "")))
        return _check_unicode(where, "".join(texts))
    raise RowError(where, f"expected a string, got {type(value).__name__}")


def _turn_list(
    row: Mapping[str, Any], key: str, role_key: str, content_key: str, roles: Mapping[str, str] | None
) -> list[Turn]:
    turns = row.get(key)
    if not isinstance(turns, list):
        raise RowError(key, f"expected a list of turns, got {type(turns).__name__}")
    out = []
    for i, turn in enumerate(turns):
        where = f"{key}[{i}]"
        if not isinstance(turn, Mapping):
            raise RowError(where, f"expected an object, got {type(turn).__name__}")
        # Accept both spellings inside either list: datasets mix them.
        rk = role_key if role_key in turn else ("role" if "role" in turn else "from")
        ck = content_key if content_key in turn else ("content" if "content" in turn else "value")
        role = turn.get(rk)
        if not isinstance(role, str):
            raise RowError(f"{where}.{role_key}", "missing or not a string")
        if ck not in turn:
            raise RowError(f"{where}.{content_key}", "missing")
        content = "" if turn[ck] is None else _content(turn[ck], f"{where}.{content_key}")
        role = _check_unicode(f"{where}.{role_key}", role)
        out.append(Turn(roles.get(role.lower(), role) if roles else role, content))
    return out


def _messages(row: Mapping[str, Any]) -> list[Turn]:
    return _turn_list(row, "messages", "role", "content", None)


def _conversations(row: Mapping[str, Any]) -> list[Turn]:
    return _turn_list(row, "conversations", "from", "value", SHAREGPT_ROLES)


def _prompt_completion(row: Mapping[str, Any]) -> list[Turn]:
    return [Turn(USER, _string(row, "prompt")), Turn(ASSISTANT, _string(row, "completion"))]


def _text(row: Mapping[str, Any]) -> list[Turn]:
    return [Turn(TEXT, _string(row, "text"))]


NORMALIZERS: dict[str, Callable[[Mapping[str, Any]], list[Turn]]] = {
    "alpaca": _alpaca,
    "messages": _messages,
    "conversations": _conversations,
    "prompt_completion": _prompt_completion,
    "text": _text,
}


def normalize_row(row: Any, fmt: str) -> list[Turn]:
    if not isinstance(row, dict) and not isinstance(row, Mapping):  # dict first: the ABC check is slow
        raise RowError("<row>", f"expected a JSON object, got {type(row).__name__}")
    return NORMALIZERS[fmt](row)


def require_format(name: str, path: str) -> str:
    if name not in FORMATS:
        raise DataError(f"unknown format {name!r}; expected one of {', '.join(FORMATS)}", path=path)
    return name
