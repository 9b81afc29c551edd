"""Versions of the files the harness writes, and one migration per file kind from every older version.

``results.json``, ``audit.json`` and ``sweep.json`` carry a top-level ``version``
(a file without one is version 1: everything written before versions existed);
the baseline lockfile has carried one from the start. Readers pass the parsed
JSON through ``migrate_<kind>`` before validating it, so a file of any older
version reads as the current schema; a newer version than this harness knows is
refused. Each step ``_<kind>_v<n>`` turns version n into n + 1 and nothing else.

Version history:

- results 2, audit 2, sweep 2: ``version`` added. Results of version 1 may lack
  ``meta.primary_metric`` (files from before it was recorded); their primary
  metric was ``exact_match``, the default, and is filled in.
- results 3: ``template`` (the chat template and its parity checks; None in older files,
  which were scored before it existed: nothing to fill in).
- sweep 3: a trial's ``adapter_path`` is relative to the run folder (version 2 stored
  the path as written: relative to the directory the sweep ran in, or absolute). A
  relative version 2 path keeps its tail from the run folder on (``trials/<name>/adapter``,
  the layout the sweep writes); an absolute one is kept as is.
- lockfile 2: the candidate's per-item scores (``items``), ``accepted_at``,
  ``source`` and ``candidate``. A version 1 lockfile reads with ``items: null``
  (compared unpaired); its embedded results migrate like ``results.json``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

RESULTS_VERSION = 3
AUDIT_VERSION = 2
SWEEP_VERSION = 3
LOCK_VERSION = 2

Data = dict[str, Any]
Step = Callable[[Data], Data]


class VersionError(ValueError):
    """A file's ``version`` is not one this harness can read (not a positive integer, or newer)."""


def file_version(data: Mapping[str, Any], kind: str) -> int:
    """The ``version`` a parsed file declares (1 when it has none)."""
    version = data.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise VersionError(f"{kind} version {version!r} is not a positive integer")
    return version


def _upgrade(data: Mapping[str, Any], kind: str, current: int, steps: Mapping[int, Step]) -> Data:
    version = file_version(data, kind)
    if version > current:
        raise VersionError(
            f"{kind} version {version} is newer than this harness reads ({current}); upgrade finetune-harness"
        )
    out = dict(data)
    for v in range(version, current):
        out = steps[v](out)
    return out


def _audit_v1(data: Data) -> Data:
    return {"version": 2, **data}


def _sweep_v1(data: Data) -> Data:
    return {"version": 2, **data}


def _run_relative(path: Any) -> Any:
    """A version 2 adapter path relative to the run folder: from its last ``trials`` component on."""
    if not isinstance(path, str) or path.startswith("/"):
        return path
    parts = path.replace("\\", "/").split("/")
    starts = [i for i, part in enumerate(parts) if part == "trials"]
    return "/".join(parts[starts[-1]:]) if starts else path


def _sweep_v2(data: Data) -> Data:
    trials = [{**t, "adapter_path": _run_relative(t.get("adapter_path"))} if isinstance(t, dict) else t
              for t in data.get("trials") or []]
    return {**data, "trials": trials, "version": 3}


def _results_v1(data: Data) -> Data:
    out: Data = {"version": 2, **data}
    meta = out.get("meta", {})
    if isinstance(meta, dict) and "primary_metric" not in meta:
        out["meta"] = {**meta, "primary_metric": "exact_match"}
    return out


def _results_v2(data: Data) -> Data:
    return {**data, "version": 3}


def _lock_v1(data: Data) -> Data:
    results = data.get("results")
    candidate = results.get("candidate") if isinstance(results, dict) else None
    return {"accepted_at": None, "source": None, "candidate": candidate, "items": None, **data, "version": 2}


def migrate_audit(data: Mapping[str, Any]) -> Data:
    """A parsed ``audit.json`` of any version, as the current version."""
    return _upgrade(data, "audit.json", AUDIT_VERSION, {1: _audit_v1})


def migrate_sweep(data: Mapping[str, Any]) -> Data:
    """A parsed ``sweep.json`` of any version, as the current version."""
    return _upgrade(data, "sweep.json", SWEEP_VERSION, {1: _sweep_v1, 2: _sweep_v2})


def migrate_results(data: Mapping[str, Any]) -> Data:
    """A parsed ``results.json`` of any version, as the current version (its audit and sweep too)."""
    out = _upgrade(data, "results.json", RESULTS_VERSION, {1: _results_v1, 2: _results_v2})
    # The audit and sweep a results file embeds carry their own versions (none: version 1).
    for key, migrate in (("audit", migrate_audit), ("sweep", migrate_sweep)):
        if isinstance(out.get(key), dict):
            out[key] = migrate(out[key])
    return out


def migrate_lock(data: Mapping[str, Any]) -> Data:
    """A parsed baseline lockfile of any version, as the current version (its embedded results too)."""
    out = _upgrade(data, "baseline lockfile", LOCK_VERSION, {1: _lock_v1})
    if isinstance(out.get("results"), dict):
        out["results"] = migrate_results(out["results"])
    return out


__all__ = [
    "AUDIT_VERSION",
    "LOCK_VERSION",
    "RESULTS_VERSION",
    "SWEEP_VERSION",
    "VersionError",
    "file_version",
    "migrate_audit",
    "migrate_lock",
    "migrate_results",
    "migrate_sweep",
]
