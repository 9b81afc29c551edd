"""Typed results: what every stage returns and what reports and gates read.

All models are frozen pydantic models, serialized once to JSON
(``audit.json``, ``sweep.json``, ``results.json``) and read back with
:func:`load_results`. Reports and gates never call a model: they read these.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import DataError
from harness.io import atomic_write_text
from harness.judge.results import JudgeReport

Severity = Literal["error", "warning", "info"]
Split = Literal["train", "eval", "benchmark", "general"]
_M = TypeVar("_M", bound=BaseModel)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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
    adapter_path: str
    overfitting: bool
    resumed_from_step: int = 0


class SweepResult(_Frozen):
    """``sweep.json``: every trial, and what the sweep itself cost."""

    trials: list[TrialResult] = Field(default_factory=list)
    base_loads: int = 0
    wall_s: float = 0.0
    skipped: list[str] = Field(default_factory=list)
    executor: str = "local"


class ItemScore(_Frozen):
    """One model's output on one eval item, with every per-item metric."""

    item_id: str
    model: str
    prompt: str
    output: str
    reference: str
    scores: dict[str, float] = Field(default_factory=dict)
    reasons: dict[str, str] = Field(default_factory=dict)


class Comparison(_Frozen):
    """A candidate against the base on one metric, paired over the same items."""

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


class GateResult(_Frozen):
    """One gate from the suite, evaluated against results."""

    name: str
    expression: str
    passed: bool
    observed: float | None = None
    message: str


class RunResults(_Frozen):
    """``results.json``: everything a report or a gate needs."""

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

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

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
    atomic_write_text(path, model.model_dump_json(indent=2))
    return path


def _load(model: type[_M], path: Path) -> _M:
    """Read a results file; an unreadable or foreign one is a DataError naming it."""
    path = Path(path)
    try:
        return model.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise DataError("no such file", path=path) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or None
        raise DataError(f"not a valid {model.__name__} file: {err['msg']}", path=path, field=where) from None


def load_results(path: Path) -> RunResults:
    return _load(RunResults, path)


def load_audit(path: Path) -> AuditResult:
    return _load(AuditResult, path)


def load_sweep(path: Path) -> SweepResult:
    return _load(SweepResult, path)
