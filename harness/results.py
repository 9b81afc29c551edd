"""Typed results: what every stage returns and what reports and gates read.

All models are frozen pydantic models, serialized once to JSON
(``audit.json``, ``sweep.json``, ``results.json``, each with a top-level
``version``) and read back with :func:`load_audit`, :func:`load_sweep` and
:func:`load_results`, which bring older versions up to date first
(:mod:`harness.migrations`). Reports and gates never call a model: they read these.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError, model_validator
from pydantic_core import PydanticSerializationError

from harness.errors import DataError
from harness.frozen import Frozen as _Frozen
from harness.io import atomic_write_text
from harness.judge.results import JudgeReport
from harness.migrations import (
    AUDIT_VERSION,
    RESULTS_VERSION,
    SWEEP_VERSION,
    VersionError,
    migrate_audit,
    migrate_results,
    migrate_sweep,
)
from harness.template_results import StopStats, TemplateInfo, TokenExample
from harness.template_results import TokenCell as TokenCell  # re-exported: results types live here
from harness.userfiles import read_bytes, read_text

Severity = Literal["error", "warning", "info"]
Split = Literal["train", "eval", "benchmark", "general"]
_M = TypeVar("_M", bound=BaseModel)

class Ref(_Frozen):
    """A record in one input: ``index`` is its 0-based record number there."""

    split: Split
    index: int
    file: str | None = None


class Finding(_Frozen):
    """One problem (or a note) an audit check found."""

    check: str
    severity: Severity
    message: str
    refs: list[Ref] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)


class CheckRun(_Frozen):
    """That a check ran, with its parameters, even when it found nothing."""

    check: str
    params: dict[str, Any] = Field(default_factory=dict)
    findings: int = 0
    seconds: float = 0.0


class AuditResult(_Frozen):
    """``audit.json``: findings, the checks that ran, and a summary."""

    version: int = AUDIT_VERSION
    findings: list[Finding] = Field(default_factory=list)
    checks: list[CheckRun] = Field(default_factory=list)
    summary: dict[str, Any] = Field(default_factory=dict)

    def count(self, severity: Severity | None = None, check: str | None = None) -> int:
        return sum(
            1
            for f in self.findings
            if (severity is None or f.severity == severity) and (check is None or f.check == check)
        )

    @property
    def has_errors(self) -> bool:
        return self.count("error") > 0


class LossPoint(_Frozen):
    step: int
    loss: float


class TrialResult(_Frozen):
    """One sweep trial: what the configuration cost and what its training did."""

    name: str
    config: dict[str, Any]
    config_hash: str
    trainable_params: int
    total_params: int
    trainable_share: float
    train_loss: list[LossPoint] = Field(default_factory=list)
    eval_loss: list[LossPoint] = Field(default_factory=list)
    steps: int
    train_tokens: int
    tokens_per_s: float
    wall_s: float
    step_s: float
    peak_mem_bytes: int
    peak_mem_kind: Literal["rss", "cuda"]
    adapter_path: str  # relative to the run folder (absolute in files from before that)
    overfitting: bool
    resumed_from_step: int = 0

    def adapter_dir(self, run_dir: str | Path) -> Path:
        """The adapter's folder: ``adapter_path`` resolved against the run folder it was recorded in."""
        path = Path(self.adapter_path)
        return path if path.is_absolute() else Path(run_dir) / path


class SweepResult(_Frozen):
    """``sweep.json``: every trial, and what the sweep itself cost."""

    version: int = SWEEP_VERSION
    trials: list[TrialResult] = Field(default_factory=list)
    base_loads: int = 0
    wall_s: float = 0.0
    skipped: list[str] = Field(default_factory=list)
    executor: str = "local"

    def adapters(self, run_dir: str | Path) -> dict[str, Path]:
        """Each trial's adapter folder, by trial name, resolved against the run folder."""
        return {t.name: t.adapter_dir(run_dir) for t in self.trials}


class ItemScore(_Frozen):
    """One model's output on one eval item, with every per-item metric."""

    item_id: str
    model: str
    prompt: str
    output: str
    reference: str
    scores: dict[str, float] = Field(default_factory=dict)
    reasons: dict[str, str] = Field(default_factory=dict)


# Fewer paired items than this and a bootstrap interval is a handful of values (one item: a point),
# so no interval is claimed: comparisons carry a note, reports say "n too small", gates on it fail.
MIN_CI_ITEMS = 5


def ci_note(n: int) -> str:
    """Why an interval over ``n`` paired items is not shown ("" when it is)."""
    if n >= MIN_CI_ITEMS:
        return ""
    return f"n={n} is too small for a confidence interval (needs at least {MIN_CI_ITEMS} paired items)"


class Comparison(_Frozen):
    """A candidate against the base on one metric, paired over the same items (``ci_note``: set when
    ``n`` is too small for ``ci_low``/``ci_high`` to mean anything)."""

    metric: str
    base: str
    candidate: str
    base_value: float
    candidate_value: float
    delta: float
    ci_low: float
    ci_high: float
    p_value: float | None = None
    n: int
    regressed: list[str] = Field(default_factory=list)
    improved: list[str] = Field(default_factory=list)
    higher_is_better: bool = True
    ci_note: str = ""  # filled from ``n`` when not given (files written before it existed too)

    @model_validator(mode="before")
    @classmethod
    def _note_from_n(cls, data: Any) -> Any:
        if isinstance(data, dict) and "ci_note" not in data and isinstance(data.get("n"), int):
            return {**data, "ci_note": ci_note(data["n"])}
        return data


class BaselineMetric(_Frozen):
    """The current candidate against the baseline's candidate on one metric (delta = current - baseline).

    Paired (``n`` > 0): values, interval, p-value and flipped items over the items both runs scored,
    paired by item id, with the same statistics as :class:`Comparison`. Unpaired (``n`` == 0, a lockfile
    without per-item scores): the stored aggregates only, so no interval, p-value or items.
    """

    metric: str
    baseline_value: float
    current_value: float
    delta: float
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    n: int = 0
    regressed: list[str] = Field(default_factory=list)
    improved: list[str] = Field(default_factory=list)
    higher_is_better: bool = True


class RegressedItem(_Frozen):
    """An item the current candidate got wrong that the baseline got right, with both outputs."""

    item_id: str
    prompt: str
    reference: str
    baseline_output: str
    current_output: str


class BaselineComparison(_Frozen):
    """The run against its stored baseline (the last accepted run); see :mod:`harness.baseline`.

    ``found`` False: no lockfile at ``lock`` (``required`` says whether baseline gates then fail).
    ``comparable`` False with a lockfile: refused, ``changed`` names the hashes that differ
    (``key old->new``, short prefixes) and no metric is compared. ``note`` says why in one line.
    """

    lock: str
    accepted_at: str | None = None
    baseline_candidate: str | None = None
    candidate: str | None = None
    found: bool = True
    required: bool = False
    comparable: bool = False
    changed: list[str] = Field(default_factory=list)
    paired: bool = False
    primary_metric: str = "exact_match"
    metrics: list[BaselineMetric] = Field(default_factory=list)
    regressions: list[RegressedItem] = Field(default_factory=list)  # on the primary metric
    note: str = ""
    accept_command: str = ""

    def metric(self, name: str) -> BaselineMetric:
        for m in self.metrics:
            if m.metric == name:
                return m
        known = [m.metric for m in self.metrics]
        raise KeyError(f"no baseline comparison for metric {name!r}; known: {known}")


class RepeatRun(_Frozen):
    """One of ``score.repeats`` sampled scoring runs: its own metrics and comparisons."""

    seed: int
    models: dict[str, dict[str, float]] = Field(default_factory=dict)
    comparisons: list[Comparison] = Field(default_factory=list)


class TemplateParity(_Frozen):
    """``results.json`` ``template``: training-vs-generation parity (see harness.audit.template_parity).

    ``parity`` (the gate ``template.parity``) counts the findings: eval items whose scorer
    prompt is not token for token what training saw before the answer, and template facts
    that break generation (no end-of-turn among the stop tokens).
    """

    template: TemplateInfo
    compared: int = 0  # eval items whose prompt ids were compared
    checks: list[CheckRun] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    stops: list[StopStats] = Field(default_factory=list)
    examples: list[TokenExample] = Field(default_factory=list)

    @property
    def parity(self) -> int:
        return len(self.findings)

    def stop(self, model: str) -> StopStats | None:
        return next((s for s in self.stops if s.model == model), None)


class Evaluation(_Frozen):
    """What scoring returns (:func:`harness.evaluate`): the base and every adapter on the same items."""

    models: dict[str, dict[str, float]]  # "base" and each adapter name -> metric name -> value
    comparisons: list[Comparison]  # every metric, base vs each adapter
    items: list[ItemScore]  # per item per model (what items.jsonl holds)
    forward_passes: dict[str, int]  # model name -> forward passes actually run (0 when all cached)
    hashes: dict[str, str]  # base, adapters, tokenizer/template, data, scorer version...
    repeats: list[RepeatRun] = Field(default_factory=list)  # one per sampled scoring run (repeats > 1)
    template: TemplateParity | None = None  # the chat template, its parity checks, how answers ended


class GateResult(_Frozen):
    """One gate from the suite, evaluated against results.

    With repeated scoring, ``observed`` is the mean over the repeats, ``spread`` their
    standard deviation, ``margin`` how far past the threshold the mean had to be
    (``noise_z`` standard errors), and ``passes`` in how many of the ``repeats`` the
    gate held on its own (pass^N is ``passes == repeats``).
    """

    name: str
    expression: str
    passed: bool
    observed: float | None = None
    message: str
    repeats: int | None = None
    passes: int | None = None
    spread: float | None = None
    margin: float | None = None

    @property
    def flaky(self) -> bool:
        """Some repeats passed and some failed: the threshold sits inside the noise."""
        return self.passes is not None and self.repeats is not None and 0 < self.passes < self.repeats


class RunResults(_Frozen):
    """``results.json``: everything a report or a gate needs."""

    version: int = RESULTS_VERSION
    suite: str
    models: dict[str, dict[str, float]] = Field(default_factory=dict)
    comparisons: list[Comparison] = Field(default_factory=list)
    gates: list[GateResult] = Field(default_factory=list)
    audit: AuditResult | None = None
    sweep: SweepResult | None = None
    judges: JudgeReport | None = None
    candidate: str | None = None
    hashes: dict[str, str] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict)
    baseline: BaselineComparison | None = None
    repeats: list[RepeatRun] = Field(default_factory=list)  # score.repeats > 1: each sampled run
    template: TemplateParity | None = None  # the chat template and its parity checks

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    def spread(self, model: str, metric: str) -> float | None:
        """The metric's standard deviation over the scoring repeats (None when scored once)."""
        values = [r.models[model][metric] for r in self.repeats if metric in r.models.get(model, {})]
        return statistics.stdev(values) if len(values) >= 2 else None

    def delta(self, metric: str, candidate: str | None = None) -> Comparison:
        """The comparison of ``metric`` for ``candidate`` (default: the selected candidate)."""
        who = candidate or self.candidate
        for c in self.comparisons:
            if c.metric == metric and (who is None or c.candidate == who):
                return c
        known = sorted({c.metric for c in self.comparisons})
        raise KeyError(f"no comparison for metric {metric!r} (candidate {who!r}); known: {known}")


def write_json(model: BaseModel, path: Path) -> Path:
    """Serialize a result atomically (a kill leaves the old file or the new one)."""
    try:
        text = model.model_dump_json(indent=2)
    except PydanticSerializationError:  # a lone surrogate (a file name that is not UTF-8): as an escape
        text = json.dumps(model.model_dump(mode="json"), indent=2)
    atomic_write_text(path, text)
    return path


def _load(model: type[_M], path: Path, migrate: Callable[[dict[str, Any]], dict[str, Any]]) -> _M:
    """Read a results file of any known version; an unreadable or foreign one is a DataError naming it."""
    path = Path(path)
    try:
        data = json.loads(read_bytes(path, "file", kind="results"))
    except RecursionError:
        raise DataError(f"not a valid {model.__name__} file: JSON nested too deeply", path=path) from None
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        raise DataError(f"not a valid {model.__name__} file: not JSON ({exc})", path=path) from None
    if not isinstance(data, dict):
        raise DataError(f"not a valid {model.__name__} file: expected a JSON object", path=path)
    try:
        return model.model_validate(migrate(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or None
        raise DataError(f"not a valid {model.__name__} file: {err['msg']}", path=path, field=where) from None
    except VersionError as exc:
        raise DataError(str(exc), path=path, field="version") from None


def load_results(path: Path) -> RunResults:
    return _load(RunResults, path, migrate_results)


def load_items(path: Path) -> list[ItemScore]:
    """``items.jsonl``: one :class:`ItemScore` a line; a bad row is a DataError naming its line."""
    items = []
    for n, line in enumerate(read_text(path, "items file", kind="results").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(ItemScore.model_validate(json.loads(line)))
        except (ValueError, RecursionError):
            raise DataError("not an item row", path=path, line=n) from None
    return items


def load_audit(path: Path) -> AuditResult:
    return _load(AuditResult, path, migrate_audit)


def load_sweep(path: Path) -> SweepResult:
    return _load(SweepResult, path, migrate_sweep)
