"""Target defects: empty, too short for what was asked, length outliers, format outliers.

* ``empty_target`` (error): empty or whitespace-only targets.
* ``short_target`` (warning): a target of at most ``max_words`` words where the
  instruction asks for long-form output (write, describe, explain, a story, a
  list, N items...) and not for a short one; see
  :mod:`harness.audit.defects.instructions`. A one-word answer to "Classify
  the sentiment" or "Convert 94F to Celsius" is what was asked for. In a set
  whose median target has at most ``applies_above_median_words`` words (a
  label set) short targets are the norm and the rule does not apply. A
  one-word target that only opens a sentence ("The", "First", "Levi's") is
  flagged whatever was asked, unless the instruction is about words.
* ``length_outlier`` (warning): robust z-score of log(1 + words) from the
  median and MAD, beyond ``z_limit``. Target lengths are right-skewed, so the
  log keeps ordinary long answers from being flagged.
* ``format_outlier`` (warning): when at least ``share`` of targets parse as a
  JSON object, or fall in a small label set (at most ``label_set_max``
  labels), the rows that do not, with the parse error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from harness.audit.checks import audit_check
from harness.audit.defects.instructions import expects_long_answer, instruction_of, opener_stub
from harness.audit.normalize import exact_form
from harness.audit.rows import CheckOutput, Hit, Rows

MAD_SCALE = 0.6745  # makes MAD-based z comparable with a normal z-score (Iglewicz and Hoaglin)


@audit_check("empty_target", severity="error", drops=True, flagged_as="have empty targets",
             params={"rule": "target is empty or whitespace only"})
def empty_target(rows: Rows, params: Mapping[str, Any]) -> list[Hit]:
    """Empty or whitespace-only target."""
    return [Hit(p, "the target is empty or whitespace only") for p, t in enumerate(rows.responses)
            if not t.strip()]


def _short_rows(rows: Rows, params: Mapping[str, Any]) -> CheckOutput:
    """The row phase: targets of a few words, and those of them too short for what was asked."""
    words = rows.words("response")
    candidates = np.flatnonzero((words > 0) & (words <= params["max_words"]))
    hits = []
    for p in candidates.tolist():
        if "\n" in rows.responses[p].strip():
            continue  # a few words on several lines are items or verse, not a stub
        instruction = instruction_of(rows.records[p])
        if opener_stub(rows.responses[p], instruction):
            hits.append(Hit(p, f"the target {rows.responses[p].strip()!r} only starts a sentence: cut off",
                            details={"words": int(words[p]), "asks_for": "a sentence that goes on"}))
            continue
        why = expects_long_answer(instruction, long_words=params["max_words"] + 1)
        if why and words[p] < why.min_words:
            hits.append(Hit(p, f"{int(words[p])}-word target where the instruction asks for {why.what}",
                            details={"words": int(words[p]), "asks_for": why.what}))
    return CheckOutput(hits, {"short_rows": len(candidates)})


@audit_check("short_target", severity="warning", scope="set", flagged_as="have targets too short for "
             "what was asked", params={"max_words": 3, "applies_above_median_words": 5.0},
             row_phase=_short_rows)
def short_target(rows: Rows, params: Mapping[str, Any]) -> CheckOutput:
    """A target of a few words where the instruction asks for long-form output."""
    words = rows.words("response")
    nonempty = words[words > 0]
    median = float(np.median(nonempty)) if len(nonempty) else 0.0
    if median <= params["applies_above_median_words"]:  # a short-answer set (labels): short is the norm
        return CheckOutput([], {"median_words": median, "applied": False})
    short_rows = int(np.count_nonzero((words > 0) & (words <= params["max_words"])))
    hits = rows.row_phase(_short_rows, params)
    return CheckOutput(hits, {"median_words": median, "applied": True, "short_rows": short_rows,
                              "judged_too_short": len(hits)})


@audit_check("length_outlier", severity="warning", scope="set", flagged_as="have outlier target lengths",
             params={"z_limit": 3.5})
def length_outlier(rows: Rows, params: Mapping[str, Any]) -> CheckOutput:
    """Target length beyond the robust z-score limit (median/MAD of log word counts)."""
    words = rows.words("response")
    pos = np.flatnonzero(words > 0)
    x = np.log1p(words[pos].astype(float))
    median = float(np.median(x)) if len(x) else 0.0
    mad = float(np.median(np.abs(x - median))) if len(x) else 0.0
    info = {"statistic": "robust z of log(1 + target words)", "z_limit": params["z_limit"],
            "median_words": round(float(np.expm1(median)), 2), "mad_log": round(mad, 4)}
    if mad == 0:
        return CheckOutput([], {**info, "applied": False, "why": "MAD is 0"})
    z = MAD_SCALE * (x - median) / mad
    hits = [Hit(int(pos[i]), f"target length {int(words[pos[i]])} words is an outlier (robust z {z[i]:+.1f})",
                details={"words": int(words[pos[i]]), "z": round(float(z[i]), 2)})
            for i in np.flatnonzero(np.abs(z) > params["z_limit"])]
    return CheckOutput(hits, {**info, "applied": True})


def _json_error(text: str) -> str | None:
    """None when ``text`` parses as a JSON object; else why not."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    except RecursionError:
        return "nested too deeply"
    return None if isinstance(value, dict) else f"parses as {type(value).__name__}, not an object"


def _label_set(keys: np.ndarray, share: float, most: int) -> np.ndarray | None:
    """Keys of the few labels covering ``share`` of targets, if there are such."""
    values, counts = np.unique(keys, return_counts=True)
    order = np.argsort(-counts, kind="stable")[:most]
    covered = np.cumsum(counts[order])
    enough = np.flatnonzero(covered >= share * len(keys))
    if not len(enough):
        return None
    labels = values[order[: enough[0] + 1]]
    return labels if len(labels) * 5 <= len(keys) else None  # labels must repeat


def _braced(rows: Rows, params: Mapping[str, Any]) -> list[Hit]:
    """The row phase: the targets that start with "{" (only an object does), with why each is not a
    JSON object (None: it is one)."""
    return [Hit(p, "", details={"error": _json_error(t.strip())}) for p, t in enumerate(rows.responses)
            if t.strip().startswith("{")]


def _json_outliers(rows: Rows, braced: Sequence[Hit], nonempty: np.ndarray,
                   share: float) -> CheckOutput | None:
    if len(braced) < share * len(rows):  # too few start like an object for the parses to reach the share
        return None
    errors: dict[int, str | None] = {int(h.pos): h.details["error"] for h in braced}
    got = sum(e is None for e in errors.values()) / len(rows)
    if got < share:
        return None
    for p in nonempty.tolist():  # the few others: why they do not parse
        if p not in errors:
            errors[p] = _json_error(rows.responses[p].strip())
    hits = [Hit(p, f"target is not a JSON object like {got:.0%} of targets: {errors[p]}",
                details={"format": "json_object", "error": errors[p]})
            for p in nonempty.tolist() if errors[p] is not None]
    return CheckOutput(hits, {"format": "json_object", "share": round(got, 4)})


@audit_check("format_outlier", severity="warning", scope="set", flagged_as="break the set's format",
             params={"share": 0.8, "label_set_max": 20}, row_phase=_braced)
def format_outlier(rows: Rows, params: Mapping[str, Any]) -> CheckOutput:
    """Target off the set's shared format (JSON object, label set)."""
    all_keys = rows.keys("response")
    nonempty = np.flatnonzero(all_keys != 0)  # key 0: nothing but space
    if not len(nonempty):
        return CheckOutput([], {"format": None, "why": "no targets"})
    as_json = _json_outliers(rows, rows.row_phase(_braced, params), nonempty, params["share"])
    if as_json is not None:
        return as_json
    keys = all_keys[nonempty]
    labels = _label_set(keys, params["share"], params["label_set_max"])
    if labels is None:
        return CheckOutput([], {"format": None, "why": "no shared format (JSON object or small label set)"})
    inside = np.isin(keys, labels)
    _, first = np.unique(keys[inside], return_index=True)  # one row per label: its texts share the form
    shown = sorted({exact_form(rows.responses[p].strip()) for p in nonempty[inside][first].tolist()})
    hits = [Hit(p, f"target {rows.responses[p].strip()[:60]!r} is outside the label set {shown}",
                details={"format": "label_set", "labels": shown})
            for p in nonempty[~inside].tolist()]
    return CheckOutput(hits, {"format": "label_set", "labels": shown})
