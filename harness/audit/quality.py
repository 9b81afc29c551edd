"""Synthetic-data defects in targets (the final assistant turn).

* ``empty_target`` (error): empty or whitespace-only targets.
* ``short_target`` (warning): one-word targets where the set's median target
  is longer than ``short_target_median_words`` words.
* ``length_outlier`` (warning): robust z-score of log(1 + words) from the
  median and MAD, beyond ``outlier_z``. Target lengths are right-skewed, so
  the log keeps ordinary long answers from being flagged.
* ``format_outlier`` (warning): when at least ``format_share`` of targets
  parse as a JSON object, or fall in a small label set, the rows that do not,
  with the parse error.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from harness.audit.evidence import cap_findings, member, snippet
from harness.audit.normalize import exact_form
from harness.audit.params import AuditParams
from harness.audit.splits import SplitData
from harness.results import Finding

MAD_SCALE = 0.6745  # makes MAD-based z comparable with a normal z-score (Iglewicz and Hoaglin)


def _row_finding(check: str, severity: Any, data: SplitData, pos: int, message: str,
                 **details: Any) -> Finding:
    return Finding(check=check, severity=severity, message=f"{data.split} row {data.index(pos)}: {message}",
                   refs=[data.ref(pos)],
                   details={"members": [member(data.split, data.index(pos), data.texts["response"][pos],
                                               prompt=snippet(data.texts["prompt"][pos]))], **details})


def empty_targets(data: SplitData, params: AuditParams) -> list[Finding]:
    found = [_row_finding("empty_target", "error", data, p, "the target is empty or whitespace only")
             for p, t in enumerate(data.texts["response"]) if not t.strip()]
    return cap_findings(found, params.max_findings_per_check, "empty_target", "error", "have empty targets")


def short_targets(data: SplitData, params: AuditParams) -> tuple[list[Finding], dict[str, Any]]:
    words = data.scans["response"].words
    nonempty = words[words > 0]
    median = float(np.median(nonempty)) if len(nonempty) else 0.0
    info = {"median_words": median, "applies_above_median": params.short_target_median_words}
    if median <= params.short_target_median_words:
        return [], {**info, "applied": False}
    found = [_row_finding("short_target", "warning", data, int(p),
                          f"one-word target where the median target has {median:g} words",
                          words=1, median_words=median)
             for p in np.flatnonzero(words == 1)]
    return cap_findings(found, params.max_findings_per_check, "short_target", "warning",
                        "have one-word targets"), {**info, "applied": True}


def length_outliers(data: SplitData, params: AuditParams) -> tuple[list[Finding], dict[str, Any]]:
    words = data.scans["response"].words
    pos = np.flatnonzero(words > 0)
    x = np.log1p(words[pos].astype(float))
    median = float(np.median(x)) if len(x) else 0.0
    mad = float(np.median(np.abs(x - median))) if len(x) else 0.0
    info = {"statistic": "robust z of log(1 + target words)", "z_limit": params.outlier_z,
            "median_words": round(float(np.expm1(median)), 2), "mad_log": round(mad, 4)}
    if mad == 0:
        return [], {**info, "applied": False, "why": "MAD is 0"}
    z = MAD_SCALE * (x - median) / mad
    found = [_row_finding("length_outlier", "warning", data, int(pos[i]),
                          f"target length {int(words[pos[i]])} words is an outlier (robust z {z[i]:+.1f})",
                          words=int(words[pos[i]]), z=round(float(z[i]), 2))
             for i in np.flatnonzero(np.abs(z) > params.outlier_z)]
    return cap_findings(found, params.max_findings_per_check, "length_outlier", "warning",
                        "have outlier target lengths"), {**info, "applied": True}


def _json_error(text: str) -> str | None:
    """None when ``text`` parses as a JSON object; else why not."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    except RecursionError:
        return "nested too deeply"
    return None if isinstance(value, dict) else f"parses as {type(value).__name__}, not an object"


def _label_set(keys: np.ndarray, params: AuditParams) -> np.ndarray | None:
    """Keys of the few labels covering ``format_share`` of targets, if there are such."""
    values, counts = np.unique(keys, return_counts=True)
    order = np.argsort(-counts, kind="stable")[: params.label_set_max]
    covered = np.cumsum(counts[order])
    enough = np.flatnonzero(covered >= params.format_share * len(keys))
    if not len(enough):
        return None
    labels = values[order[: enough[0] + 1]]
    return labels if len(labels) * 5 <= len(keys) else None  # labels must repeat


def _json_outliers(data: SplitData, targets: list[str], nonempty: list[int],
                   params: AuditParams) -> tuple[list[Finding], dict[str, Any]] | None:
    # Only an object starts with "{": when too few do, no parse can reach the share.
    if sum(targets[p].startswith("{") for p in nonempty) < params.format_share * len(targets):
        return None
    errors = {p: _json_error(targets[p]) for p in nonempty}
    share = sum(e is None for e in errors.values()) / len(targets)
    if share < params.format_share:
        return None
    found = [_row_finding("format_outlier", "warning", data, p,
                          f"target is not a JSON object like {share:.0%} of targets: {errors[p]}",
                          format="json_object", error=errors[p])
             for p in nonempty if errors[p] is not None]
    return cap_findings(found, params.max_findings_per_check, "format_outlier", "warning",
                        "break the JSON format"), {"format": "json_object", "share": round(share, 4)}


def format_outliers(data: SplitData, params: AuditParams) -> tuple[list[Finding], dict[str, Any]]:
    targets = [t.strip() for t in data.texts["response"]]
    nonempty = [p for p, t in enumerate(targets) if t]
    if not nonempty:
        return [], {"format": None, "why": "no targets"}
    as_json = _json_outliers(data, targets, nonempty, params)
    if as_json is not None:
        return as_json
    keys = data.scans["response"].keys[nonempty]
    labels = _label_set(keys, params)
    if labels is None:
        return [], {"format": None, "why": "no shared format (JSON object or small label set)"}
    shown = sorted({exact_form(targets[p]) for p, k in zip(nonempty, keys.tolist(), strict=True)
                    if k in set(labels.tolist())})
    inside = np.isin(keys, labels)
    found = [_row_finding("format_outlier", "warning", data, p,
                          f"target {targets[p][:60]!r} is outside the label set {shown}",
                          format="label_set", labels=shown)
             for p, ok in zip(nonempty, inside.tolist(), strict=True) if not ok]
    return cap_findings(found, params.max_findings_per_check, "format_outlier", "warning",
                        "fall outside the label set"), {"format": "label_set", "labels": shown}
