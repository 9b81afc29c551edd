"""Placeholders and markers where text should be (AlpacaDataCleaned's list of the original Alpaca's defects).

* ``placeholder_input`` (warning): the input is a "no input" marker
  (``<noinput>``, ``No input.``, ``Noinput``, ``<no input>``, ``N/A``, ``None``,
  ``No input required``...). The input is the last paragraph of the final
  user turn (an alpaca row's ``input``), when that turn has more than one.
* ``placeholder_output`` (error): the target is a marker (``<nooutput>``,
  ``<No output>``, ``N/A``, ``None``, ``No output required``, ``TBD``...) or
  starts with ``<nooutput>``/``<noinput>``.
* ``inconsistent_markers`` (warning, one finding per set): rows spell "no
  input" in more than one way; the finding lists each spelling with its count.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from harness.audit.checks import audit_check
from harness.audit.rows import CheckOutput, Hit, Rows
from harness.results import Finding

_PARAGRAPH = re.compile(r"\n\s*\n")
_NO_INPUT = re.compile(
    r"[<\[(]?\s*(?:no[-_ ]?inputs?|empty[-_ ]?input|input[-_ ]?none)\s*[>\])]?"
    r"(?:\s+(?:required|needed|provided|given|necessary))?\s*[.!]?|"
    r"[<\[(]?\s*(?:n/?a|none|null|nil|empty|not applicable)\s*[>\])]?\s*\.?|-{1,3}|—", re.I)
_NO_OUTPUT = re.compile(
    r"[<\[(]?\s*(?:no[-_ ]?outputs?|empty[-_ ]?output|output[-_ ]?none)\s*[>\])]?"
    r"(?:\s+(?:required|needed|provided|given|necessary|possible))?\s*[.!]?|"
    r"[<\[(]?\s*(?:n/?a|none|null|nil|empty|not applicable|tbd|todo|to be determined|placeholder|"
    r"insert (?:output|answer|response) here)\s*[>\])]?\s*\.?|-{1,3}|—|\.{3}|…", re.I)
_MARKER_START = re.compile(r"\s*<\s*no[-_ ]?(?:output|input)s?\s*>", re.I)


def input_of(prompt: str) -> str | None:
    """The input paragraph: the last paragraph of the prompt when it has more than one."""
    parts = _PARAGRAPH.split(prompt.strip())
    return parts[-1].strip() if len(parts) > 1 else None


def _last_user(rows: Rows, pos: int) -> str:
    turns = rows.records[pos].prompt_turns
    users = [t.content for t in turns if t.role == "user"]
    return users[-1] if users else rows.prompts[pos]


def no_input_marker(rows: Rows, pos: int) -> str | None:
    """The row's "no input" marker as written, if its input is one."""
    prompt = rows.prompts[pos]
    if "\n" not in prompt:  # fast path: a one-line prompt has no separate input
        return None
    text = input_of(_last_user(rows, pos))
    return text if text is not None and len(text) <= 40 and _NO_INPUT.fullmatch(text) else None


@audit_check("placeholder_input", severity="warning", fields=("prompt",),
             flagged_as="have a 'no input' marker as input")
def placeholder_input(rows: Rows, params: Mapping[str, Any]) -> list[Hit]:
    """The input is a "no input" marker (<noinput>, No input, N/A...) instead of being left empty."""
    out = []
    for pos in range(len(rows)):
        marker = no_input_marker(rows, pos)
        if marker is not None:
            out.append(Hit(pos, f"the input is the marker {marker!r}, not an input", field="prompt",
                           details={"marker": marker}))
    return out


@audit_check("placeholder_output", severity="error", drops=True, flagged_as="have a placeholder as target")
def placeholder_output(rows: Rows, params: Mapping[str, Any]) -> list[Hit]:
    """The target is a placeholder (<nooutput>, N/A, None...) or starts with a no-output marker."""
    out = []
    for pos, text in enumerate(rows.responses):
        stripped = text.strip()
        if len(stripped) <= 40 and _NO_OUTPUT.fullmatch(stripped):
            out.append(Hit(pos, f"the target is the placeholder {stripped!r}", details={"marker": stripped}))
        elif stripped.startswith("<") and _MARKER_START.match(stripped):
            marker = _MARKER_START.match(stripped).group(0).strip()  # type: ignore[union-attr]
            out.append(Hit(pos, f"the target starts with the marker {marker!r}", details={"marker": marker}))
    return out


def _markers(rows: Rows, params: Mapping[str, Any]) -> list[Hit]:
    """The row phase: each row's "no input" marker, as written."""
    return [Hit(pos, "", field="prompt", details={"marker": m}) for pos in range(len(rows))
            if (m := no_input_marker(rows, pos)) is not None]


@audit_check("inconsistent_markers", severity="warning", scope="set", fields=("prompt",),
             flagged_as="spell 'no input' differently", row_phase=_markers)
def inconsistent_markers(rows: Rows, params: Mapping[str, Any]) -> CheckOutput:
    """Rows spell "no input" in more than one way (one finding for the set, spellings with counts)."""
    used = {h.pos: h.details["marker"] for h in rows.row_phase(_markers, params)}
    counts = Counter(used.values())
    stats = {"markers": dict(counts.most_common())}
    if len(counts) < 2:
        return CheckOutput([], stats)
    listed = ", ".join(f"{m!r} x{n}" for m, n in counts.most_common())
    finding = Finding(
        check="inconsistent_markers", severity="warning",
        message=f"{rows.split}: {len(used)} rows mark 'no input' {len(counts)} different ways ({listed})",
        refs=[rows.ref(p) for p in sorted(used)],
        details={"split": rows.split, "markers": dict(counts.most_common()), "rows": len(used)})
    return CheckOutput([finding], stats)
