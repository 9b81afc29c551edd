"""``refusal`` (warning): refusals and generator boilerplate in responses, listed with counts.

Self-references of the generating model ("As an AI language model", "as a
text-based AI", "this instruction cannot be fulfilled by a GPT model") count
anywhere in the response; refusal openers ("I'm sorry, but", "I cannot",
"I am unable to", "I apologize, but") only in its first ``opening_chars``
characters, where a refusal sits ("I cannot wait to see you" deep inside a
letter is not one). The check's params report how many rows used each phrase.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from harness.audit.checks import audit_check
from harness.audit.rows import CheckOutput, Hit, Rows, containing

# Each pattern runs on lower-cased text and starts with a literal, which the regex engine finds fast.
_ANYWHERE = (
    ("as an AI language model", r"as an? (?:ai|artificial intelligence)(?: language)? model\b"),
    ("as an AI", r"as an? (?:ai|artificial intelligence)(?: assistant| system| chatbot)?\b"
                 r"(?! (?:researcher|expert))"),
    ("as a language model", r"as a (?:large )?language model\b"),
    ("I am an AI", r"i(?: am|'m) (?:just |only )?an? (?:ai|artificial intelligence|language model)\b"),
    ("as a text-based AI", r"as a text[- ]based (?:ai|model|assistant)\b"),
    ("cannot be fulfilled by a GPT model", r"cannot be (?:fulfilled|completed|done|performed) by an? "
                                           r"(?:gpt|language|ai|text)(?:[- ]\w+)? model\b"),
    ("I don't have personal opinions", r"i (?:do not|don't) have (?:personal )?(?:opinions|feelings|emotions|"
                                       r"beliefs|preferences|the ability to|access to)\b"),
)
_OPENING = (
    ("I'm sorry, but", r"i(?:'m| am) (?:so |very )?sorry,? but\b"),
    ("I apologize, but", r"i apologi[sz]e,? but\b"),
    ("I cannot", r"i (?:cannot|can't|can not) (?:help|assist|provide|fulfill|comply|create|generate|write|"
                 r"answer|do that|complete|perform|draw|produce|browse|access|share|give)\b"),
    ("I am unable to", r"i(?: am|'m) (?:unable|not able) to\b"),
    ("I won't", r"i (?:will not|won't) (?:help|assist|provide|create|generate|write)\b"),
    ("Unfortunately, I", r"unfortunately,? i\b"),
)
# Substrings every match holds (lower case): only rows holding one are parsed.
# (case as usually written: no lower-casing pass over the whole set is needed to find the candidates)
_ANY_NEEDS = ("AI", " ai ", "anguage model", "rtificial intelligence", "rtificial Intelligence", "ext-based",
              "ext based", "GPT", "don't have", "do not have")
_OPEN_NEEDS = ("sorry", "Sorry", "pologi", "annot", "an't", "an not", "unable", "Unable", "not able", "won't",
               "Won't", "ill not", "nfortunately")
# Each phrase starts a word: not after a word character or an apostrophe. The pattern itself starts
# with its literal, and the character before a match is tested here: a leading lookbehind keeps
# ``re`` from skipping ahead to the literal, which made each search 10-15x slower.
_COMPILED = [(name, re.compile(rx)) for name, rx in _ANYWHERE]
_OPENERS = [(name, re.compile(rx)) for name, rx in _OPENING]


def _at_word_start(rx: re.Pattern[str], text: str) -> bool:
    """``text`` holds a match of ``rx`` that starts a word (what ``(?<![\\w'])`` before ``rx`` finds)."""
    m = rx.search(text)
    while m is not None:
        at = m.start()
        if at == 0 or not (text[at - 1].isalnum() or text[at - 1] in "_'"):  # ``\\w`` is isalnum() or _
            return True
        m = rx.search(text, at + 1)
    return False


def phrases(text: str, opening_chars: int) -> list[str]:
    """The boilerplate phrases ``text`` uses (names from this module's lists)."""
    low = text.lower()
    head = low[:opening_chars]
    return [name for name, rx in _COMPILED if _at_word_start(rx, low)] + \
        [name for name, rx in _OPENERS if _at_word_start(rx, head)]


@audit_check("refusal", severity="warning", flagged_as="refuse or carry generator boilerplate",
             params={"opening_chars": 200})
def refusal(rows: Rows, params: Mapping[str, Any]) -> CheckOutput:
    """Refusals and generator boilerplate ("As an AI language model", "I'm sorry, but"), with counts."""
    opening = params["opening_chars"]
    heads = [t[:opening] for t in rows.responses]
    maybe = set(containing(rows.responses, _ANY_NEEDS).tolist()) | \
        set(containing(heads, _OPEN_NEEDS).tolist())
    counts: Counter[str] = Counter()
    hits = []
    for pos in sorted(maybe):
        found = phrases(rows.responses[pos], opening)
        if found:
            counts.update(found)
            hits.append(Hit(pos, f"refusal or generator boilerplate: {', '.join(repr(f) for f in found)}",
                            details={"phrases": found}))
    return CheckOutput(hits, {"rows": len(hits), "phrases": dict(counts.most_common())})
