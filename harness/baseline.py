"""Baselines: the last accepted run, stored with every hash that makes runs comparable.

``harness baseline accept DIR`` writes a lockfile (version 2) holding the run's results, the
hashes that make runs comparable, and the per-item scores of its candidate (and of the base,
when small). A later run is compared with it item by item, paired by item id, with the same
statistics as base-vs-candidate comparisons (:func:`harness.score.compare.compare`). A version 1
lockfile holds no items: its comparison is the unpaired difference of the stored aggregates,
without interval, p-value or flipped items, and says so.

Comparing against a baseline whose hashes differ (base weights, quantization, tokenizer and
chat template, eval/general/MMLU data, scorer version and settings, judge model and rubric) is
refused, naming what changed: a delta across such a change measures the change, not the adapter.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from harness.errors import BaselineError, DataError
from harness.io import atomic_write_text
from harness.migrations import LOCK_VERSION, VersionError, file_version, migrate_lock
from harness.results import (
    BaselineComparison,
    BaselineMetric,
    ItemScore,
    RegressedItem,
    RunResults,
    load_items,
    load_results,
)
from harness.score.compare import ItemValues, compare
from harness.score.metrics import MetricSpec, metric_registry
from harness.userfiles import read_bytes

ITEMS = "items.jsonl"  # harness.pipeline.ITEMS (that module imports the training stack)
BASE = "base"
# Hash families that must match for two runs to be comparable ("data:eval" is in family "data").
# Adapters are what a baseline compares; "items:*" are derived from data, template and settings.
COMPARABLE = ("base", "quantization", "tokenizer", "template", "data", "scorer", "scorer_version", "settings",
              "eval_data", "general_data", "mmlu", "judge", "metric")
# The base's items go into the lockfile only up to this many rows: the comparison needs only the
# candidate's, and a lockfile is committed next to the suite, so it should stay reviewable.
BASE_ITEMS_LIMIT = 2000
REGRESSION_ROWS = 200  # regressed items copied (with both outputs) into results for the report


@dataclass(frozen=True)
class Baseline:
    """A lockfile, read. ``items`` is None when it holds no per-item scores (version 1)."""

    path: Path
    version: int
    accepted_at: str | None
    results: RunResults
    items: list[ItemScore] | None


def default_lock(folder: Path) -> Path:
    return folder.parent / "baseline.lock.json"


def accept_command(folder: Path, lock: Path) -> str:
    """The command that accepts ``folder`` as the baseline at ``lock``."""
    to = "" if Path(lock) == default_lock(folder) else f" --to {lock}"
    return f"harness baseline accept {folder}{to}"


def accept_baseline(folder: Path, lock: Path | None = None) -> Path:
    path = folder / "results.json"
    if not path.is_file():
        raise BaselineError(f"{path}: no results.json to accept")
    results = load_results(path)  # a malformed file is a DataError naming it
    items_path = folder / ITEMS
    # Without items.jsonl the lockfile still works, unpaired (like a version 1 lockfile).
    items = _kept_items(load_items(items_path), results.candidate) if items_path.is_file() else None
    target = lock or default_lock(folder)
    lockfile = {
        "version": LOCK_VERSION,
        "accepted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": str(folder),
        "candidate": results.candidate,
        "hashes": comparable_hashes(results),
        "results": results.model_dump(mode="json"),
        "items": None if items is None else [i.model_dump(mode="json") for i in items],
    }
    atomic_write_text(target, json.dumps(lockfile, indent=2, ensure_ascii=False))
    return target


def _kept_items(items: Sequence[ItemScore], candidate: str | None) -> list[ItemScore]:
    """The candidate's items (what a later run pairs with), plus the base's when few."""
    who = candidate or BASE
    base = [i for i in items if i.model == BASE]
    keep_base = who != BASE and len(base) <= BASE_ITEMS_LIMIT
    return [i for i in items if i.model == who or (keep_base and i.model == BASE)]


def read_lock(lock: Path) -> Baseline:
    """A lockfile of any version (migrated to the current one); a missing or malformed one is a
    BaselineError naming it. ``Baseline.version`` is the version the file was written with."""
    if not lock.is_file():
        raise BaselineError(f"{lock}: no baseline (run `harness baseline accept DIR`)")
    try:
        raw = json.loads(read_bytes(lock, "baseline lockfile", kind="results"))
        version = file_version(raw, "lockfile")
        data = migrate_lock(raw)
        results = RunResults.model_validate(data["results"])
        raw_items = data.get("items")
        items = None if raw_items is None else [ItemScore.model_validate(i) for i in raw_items]
        accepted = data.get("accepted_at")
    except VersionError as exc:
        raise BaselineError(f"{lock}: {exc}") from None
    except DataError as exc:  # not a regular file, or too large
        raise BaselineError(str(exc)) from None
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise BaselineError(f"{lock}: not a baseline lockfile") from None
    return Baseline(lock, version, accepted if isinstance(accepted, str) else None, results, items)


def load_baseline(lock: Path) -> RunResults:
    return read_lock(lock).results


def comparable_hashes(results: RunResults) -> dict[str, str]:
    """The hashes that must match, plus each judge's model and rubric (they live in the judge report)."""
    out = {k: v for k, v in results.hashes.items() if k.partition(":")[0] in COMPARABLE}
    for run in results.judges.runs if results.judges else []:
        out.setdefault(f"judge:{run.name}:model", run.model)
        out.setdefault(f"judge:{run.name}:rubric", run.rubric_hash)
    return out


def changed_hashes(current: RunResults, baseline: RunResults) -> list[str]:
    """``key old->new`` for every comparable hash both runs have and that differs.

    A key only one run has is not a change: a suite that adds a metric still compares the others.
    """
    now, then = comparable_hashes(current), comparable_hashes(baseline)
    return [f"{k} {_short(then[k])}->{_short(now[k])}" for k in now if k in then and now[k] != then[k]]


def _short(value: str) -> str:
    # "module:function@<sha256>" (a user's metric) keeps its name and shortens its hash
    head, at, tail = value.rpartition("@")
    if at and re.fullmatch(r"[0-9a-f]{17,}", tail):
        return f"{head}@{tail[:8]}"
    return value[:8] if re.fullmatch(r"[0-9a-f]{17,}", value) else value


def check_comparable(current: RunResults, baseline: RunResults) -> None:
    changed = changed_hashes(current, baseline)
    if changed:
        raise BaselineError(
            f"baseline is not comparable: {', '.join(changed)} changed since it was accepted",
            hint="accept a new baseline if the change is intended",
        )


def baseline_spec(metric: str) -> MetricSpec:
    """The registry's spec of a metric; one this process does not know (a user's metric whose module
    is not imported here) is a mean of item scores, binary when every item is 0 or 1."""
    return metric_registry().find(metric) or MetricSpec(metric)


def item_values(items: Sequence[ItemScore], model: str, spec: MetricSpec) -> ItemValues | None:
    """A model's per-item values of one metric, rebuilt from item rows (None: no item has it).

    Perplexity rows hold the item's own perplexity and token count, so the summed NLL is
    ``log(ppl) * tokens`` and the token count is the weight, as when scoring.
    """
    num: dict[str, float] = {}
    den: dict[str, float] = {}
    for it in items:
        found = spec.row_value(it.item_id, it.scores) if it.model == model else None
        if found is not None:
            num[it.item_id] = found[0]
            if found[1] is not None:
                den[it.item_id] = found[1]
    if not num:
        return None
    return ItemValues(num, den if spec.perplexity else None)


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def compare_metric(spec: MetricSpec, then: ItemValues | None, now: ItemValues | None,
                   then_value: float, now_value: float, *, resamples: int,
                   confidence: float) -> BaselineMetric:
    """Paired over the items both runs scored when both have items; else the aggregates, unpaired."""
    if then is not None and now is not None:
        c = compare(spec, "baseline", then, "current", now, resamples=resamples, confidence=confidence)
        if c.n and all(math.isfinite(v) for v in (c.base_value, c.candidate_value, c.delta)):
            return BaselineMetric(
                metric=spec.name, baseline_value=c.base_value, current_value=c.candidate_value,
                delta=c.delta, ci_low=_finite(c.ci_low), ci_high=_finite(c.ci_high),
                p_value=_finite(c.p_value), n=c.n, regressed=c.regressed, improved=c.improved,
                higher_is_better=spec.higher_is_better)
    return BaselineMetric(metric=spec.name, baseline_value=then_value, current_value=now_value,
                          delta=now_value - then_value, higher_is_better=spec.higher_is_better)


def compare_to_baseline(baseline: Baseline, results: RunResults, items: Sequence[ItemScore], *,
                        run_dir: Path, primary: str = "exact_match", required: bool = False,
                        resamples: int = 2000, confidence: float = 0.95) -> BaselineComparison:
    """``results``' candidate (the base when it has none) against the baseline's; refused when a
    comparable hash changed. ``items``: the run's item rows (every model's; the candidate's are used)."""
    then, now = baseline.results.candidate or BASE, results.candidate or BASE
    head = BaselineComparison(
        lock=str(baseline.path), accepted_at=baseline.accepted_at, baseline_candidate=then, candidate=now,
        required=required, primary_metric=primary, accept_command=accept_command(run_dir, baseline.path))
    changed = changed_hashes(results, baseline.results)
    if changed:
        note = (f"baseline refused: {', '.join(changed)} changed since it was accepted "
                f"(run `{head.accept_command}` to accept the change)")
        return head.model_copy(update={"changed": changed, "note": note})
    metrics = _metrics(baseline, results, items, then, now, resamples=resamples, confidence=confidence)
    paired = any(m.n for m in metrics)
    update = {"comparable": True, "metrics": metrics, "paired": paired,
              "note": "" if paired else _unpaired_note(baseline, items, now),
              "regressions": _regressions(baseline.items or [], items, then, now, metrics, primary)}
    return head.model_copy(update=update)


def _metrics(baseline: Baseline, results: RunResults, items: Sequence[ItemScore], then: str, now: str, *,
             resamples: int, confidence: float) -> list[BaselineMetric]:
    then_values = baseline.results.models.get(then, {})
    out = []
    for name, now_value in results.models.get(now, {}).items():
        if name not in then_values or not math.isfinite(now_value) or not math.isfinite(then_values[name]):
            continue
        spec = baseline_spec(name)
        out.append(compare_metric(
            spec, item_values(baseline.items or [], then, spec), item_values(items, now, spec),
            then_values[name], now_value, resamples=resamples, confidence=confidence))
    return out


def _unpaired_note(baseline: Baseline, items: Sequence[ItemScore], now: str) -> str:
    if baseline.items is None:
        why = f"the baseline lockfile (version {baseline.version}) holds no per-item scores"
    elif not any(i.model == now for i in items):
        why = f"this run has no per-item scores for {now!r}"
    else:
        why = "no item was scored by both runs"
    return (f"{why}: deltas are unpaired differences of the stored aggregates, without confidence "
            f"interval, p-value or regressed items (re-accept the baseline to store its items)")


def _regressions(then_items: Sequence[ItemScore], items: Sequence[ItemScore], then: str, now: str,
                 metrics: Sequence[BaselineMetric], primary: str) -> list[RegressedItem]:
    """The primary metric's regressed items with both outputs, so the report needs no lockfile."""
    ids = next((m.regressed for m in metrics if m.metric == primary), [])[:REGRESSION_ROWS]
    old = {i.item_id: i for i in then_items if i.model == then}
    new = {i.item_id: i for i in items if i.model == now}
    return [RegressedItem(item_id=i, prompt=new[i].prompt, reference=new[i].reference,
                          baseline_output=old[i].output, current_output=new[i].output)
            for i in ids if i in old and i in new]


def missing_baseline(lock: Path, *, run_dir: Path, required: bool, primary: str = "exact_match",
                     candidate: str | None = None) -> BaselineComparison:
    """No lockfile yet: recorded, so that gates and the report can say where it was looked for."""
    command = accept_command(run_dir, lock)
    first = "" if required else " (first run?)"
    return BaselineComparison(
        lock=str(lock), found=False, required=required, primary_metric=primary, candidate=candidate or BASE,
        accept_command=command,
        note=f"no baseline at {lock}{first}; once this run is the one to compare against: {command}")


@dataclass(frozen=True)
class LockContents:
    """What a baseline path holds: a lockfile (``baseline``), none (both None), or an unreadable one."""

    path: Path
    baseline: Baseline | None = None
    error: str | None = None  # why the file at ``path`` could not be read as a lockfile


def read_lock_contents(lock: Path) -> LockContents:
    """The lockfile at ``lock``, read once; a missing or unreadable one is recorded, not raised."""
    if not lock.is_file():
        return LockContents(lock)
    try:
        return LockContents(lock, baseline=read_lock(lock))
    except BaselineError as exc:
        return LockContents(lock, error=str(exc))


def against_baseline(lock: LockContents, results: RunResults, items: Sequence[ItemScore], *, run_dir: Path,
                     required: bool = False, primary: str = "exact_match", resamples: int = 2000,
                     confidence: float = 0.95) -> Callable[[str | None], BaselineComparison]:
    """The comparison of any of the run's models with the baseline ``lock`` holds; no I/O.

    A function of the candidate because ``select: best_passing`` gates several in turn. An
    unreadable lockfile is recorded as refused (the run's own results are still written).
    """
    path = lock.path
    if lock.error is not None:
        broken = BaselineComparison(lock=str(path), required=required, primary_metric=primary,
                                    note=lock.error, accept_command=accept_command(run_dir, path))
        return lambda name: broken.model_copy(update={"candidate": name or BASE})
    baseline = lock.baseline
    if baseline is None:
        return lambda name: missing_baseline(path, run_dir=run_dir, required=required, primary=primary,
                                             candidate=name)
    done: dict[str | None, BaselineComparison] = {}

    def against(name: str | None) -> BaselineComparison:
        if name not in done:
            done[name] = compare_to_baseline(
                baseline, results.model_copy(update={"candidate": name}), items, run_dir=run_dir,
                primary=primary, required=required, resamples=resamples, confidence=confidence)
        return done[name]

    return against
