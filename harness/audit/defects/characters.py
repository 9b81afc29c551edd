"""Characters that do not belong in text: control characters, literal escapes, mojibake.

* ``control_characters`` (warning): C0 controls other than tab and line
  breaks (``\\u0000``-``\\u0008``, ``\\u000b``, ``\\u000c``, ``\\u000e``-``\\u001f``),
  DEL, C1 controls (``\\u0080``-``\\u009f``), a carriage return not followed by
  a line feed, and the replacement character ``\\ufffd``.
* ``literal_escapes`` (warning): escape sequences written out in prose, a
  backslash and ``n``/``t``/``r`` before a capital, a digit, a list marker, a
  space or another escape ("Step one.\\\\nStep two"), or ``\\\\u00e9``-style
  code points. Text that is code (a code fence, a ``print(`` call, lines
  ending in ``;`` or braces) and LaTeX (``\\\\neq``, ``\\\\times``) is left alone.
* ``mojibake`` (warning): UTF-8 read as Latin-1 or Windows-1252 (``Ã©`` for
  ``é``, ``â€™`` for ``’``, ``Â°`` for ``°``, ``ï»¿`` for a byte-order mark).

All three look at the prompt and the response; one finding per row and field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from harness.audit.checks import audit_check
from harness.audit.rows import CHUNK_ROWS, Hit, Rows, containing

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]|\r(?![\n\r])")
_ESCAPE = re.compile(r"(?<!\\)\\(?:[nrt](?=[A-Z0-9\s\-*•#(\[\"']|\\[nrt]|$)|u[0-9a-fA-F]{4})")
_CODE = re.compile(r"```|~~~|\b(?:print|printf|println|puts|echo|console\.log|System\.out\.\w+|sprintf|"
                   r"format|write|split|replace|join|strip|re\.\w+)\s*\(|[;{}]\s*$|^\s*(?:def|class|import|"
                   r"#include|return|public|function|var|let|const)\b|[\"']\\[nrt]", re.M)
_CP1252 = "\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014" \
          "\u2018-\u201e\u2020-\u2022" \
          "\u2026\u2030\u2039\u203a\u20ac\u2122"
_MOJIBAKE_LEADS = ("Â", "Ã", "Å", "Ð", "Ñ", "â€", "ï»¿")
_MOJIBAKE = re.compile(rf"[ÂÃÅÐÑ][\u0080-\u00bf{_CP1252}]|â€[\u0080-\u00bf{_CP1252}]?|ï»¿|Ã\s")


def _described(char: str) -> str:
    return f"U+{ord(char):04X}"


# C0 controls but tab, line feed and carriage return; DEL. Lead bytes of the multi-byte cases: a
# carriage return (bad unless a line break follows), 0xC2 (C1 controls are C2 80..C2 9F) and 0xEF (U+FFFD).
_BAD_BYTE = np.zeros(256, dtype=bool)
_BAD_BYTE[[*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]] = True
_LEAD_BYTE = np.zeros(256, dtype=bool)
_LEAD_BYTE[[0x0D, 0xC2, 0xEF]] = True


def _control_rows(texts: Sequence[str]) -> np.ndarray:
    """Rows holding a control character, found on the UTF-8 bytes with one table lookup per byte."""
    found = []
    for lo in range(0, len(texts), CHUNK_ROWS):
        part = texts[lo:lo + CHUNK_ROWS]
        data = np.frombuffer("\n".join(part).encode("utf-8", "surrogatepass") + b"\0\0", dtype=np.uint8)
        bad = _BAD_BYTE[data]
        lead = np.flatnonzero(_LEAD_BYTE[data])
        if len(lead):
            a, b, c = data[lead], data[lead + 1], data[np.minimum(lead + 2, len(data) - 1)]
            multi = ((a == 0x0D) & (b != 0x0A) & (b != 0x0D) & (b != 0)) | \
                ((a == 0xC2) & (b >= 0x80) & (b <= 0x9F)) | ((a == 0xEF) & (b == 0xBF) & (c == 0xBD))
            bad[lead[multi]] = True
        at = np.flatnonzero(bad[:-2])
        if len(at):
            sizes = [len(t) if t.isascii() else len(t.encode("utf-8", "surrogatepass")) for t in part]
            ends = np.cumsum([n + 1 for n in sizes]) - 1
            found.append(lo + np.searchsorted(ends, at, side="left"))
    return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)


def _scan(rows: Rows, fields: list[str], pattern: re.Pattern[str], what: str,
          candidates: Callable[[Sequence[str]], np.ndarray],
          skip: re.Pattern[str] | None = None) -> list[Hit]:
    hits = []
    for field in fields:
        texts = rows.text(field)
        for pos in candidates(texts).tolist():
            text = texts[pos]
            if skip is not None and skip.search(text):
                continue
            found = pattern.findall(text)
            if not found:
                continue
            shown = sorted({_described(f) if len(f) == 1 and not f.isprintable() else f for f in found})
            hits.append(Hit(pos, f"the {field} holds {len(found)} {what}: {', '.join(shown[:5])}",
                            field=field, details={"count": len(found), "found": shown[:20]}))
    return sorted(hits, key=lambda h: h.pos)


@audit_check("control_characters", severity="warning", fields=("prompt", "response"),
             flagged_as="hold control characters", params={"fields": ["prompt", "response"]})
def control_characters(rows: Rows, params: Mapping[str, Any]) -> list[Hit]:
    """Stray control characters (other than tab and line breaks), DEL, C1 controls, U+FFFD."""
    return _scan(rows, params["fields"], _CONTROL, "control character(s)", _control_rows)


@audit_check("literal_escapes", severity="warning", fields=("prompt", "response"),
             flagged_as="hold escape sequences written out", params={"fields": ["prompt", "response"]})
def literal_escapes(rows: Rows, params: Mapping[str, Any]) -> list[Hit]:
    r"""Escape sequences written out in prose ("\n", "\t", "\u00e9" as characters)."""
    return _scan(rows, params["fields"], _ESCAPE, "literal escape sequence(s)",
                 lambda texts: containing(texts, ("\\",)), skip=_CODE)


@audit_check("mojibake", severity="warning", fields=("prompt", "response"),
             flagged_as="hold mojibake", params={"fields": ["prompt", "response"]})
def mojibake(rows: Rows, params: Mapping[str, Any]) -> list[Hit]:
    """UTF-8 decoded as Latin-1/Windows-1252 ("Ã©" for "é", "â€™" for "’")."""
    return _scan(rows, params["fields"], _MOJIBAKE, "mojibake sequence(s)",
                 lambda texts: containing(texts, _MOJIBAKE_LEADS))
