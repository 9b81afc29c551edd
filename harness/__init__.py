"""finetune-harness: audit instruction data, sweep QLoRA, score base vs fine-tuned, report and gate.

Light pieces (config, records, results, gates, errors) import eagerly; the
stages that pull in torch, transformers or lm-eval load on first use, so that
``import harness`` (which the pytest plugin does in every session) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from harness.config import SuiteConfig, TrialSpec
from harness.data import Record, Turn, iter_records, load_records
from harness.errors import (
    AdapterError,
    BaselineError,
    BudgetExceeded,
    ConfigError,
    DataError,
    HarnessError,
    JudgeError,
    MetricError,
    ModelError,
)
from harness.gate import evaluate_gates
from harness.results import (
    AuditResult,
    CheckRun,
    Comparison,
    Evaluation,
    Finding,
    GateResult,
    ItemScore,
    Ref,
    RunResults,
    SweepResult,
    TrialResult,
    load_audit,
    load_results,
    load_sweep,
)
from harness.suite import load_suite

if TYPE_CHECKING:  # typed for users' checkers; imported on first use (numpy comes with it)
    from harness.audit import CleanPolicy as CleanPolicy
    from harness.audit import audit_check as audit_check
    from harness.audit import clean_dataset as clean_dataset
    from harness.score.metrics import MetricItem as MetricItem
    from harness.score.metrics import MetricSpec as MetricSpec
    from harness.score.metrics import Score as Score
    from harness.score.metrics import metric as metric
    from harness.score.metrics import metric_registry as metric_registry

__version__ = "0.1.0"

_LAZY = {
    "run_audit": "harness.audit",
    "AuditParams": "harness.audit",
    "load_benchmark": "harness.audit",
    "audit_templates": "harness.audit.templates",
    "audit_files": "harness.audit_run",
    "run_sweep": "harness.train.sweep",
    "merge_adapter": "harness.train.merge",
    "evaluate": "harness.score.engine",
    "run_suite": "harness.pipeline",
    "run_judges": "harness.judge",
    "review_dataset": "harness.judge",
    "JudgeConfig": "harness.judge",
    "JudgeItem": "harness.judge",
    "JudgeReport": "harness.judge",
    "load_base": "harness.models",
    "attach_adapters": "harness.models",
    "render_run": "harness.report",
    "render_audit": "harness.report",
    "render_sweep": "harness.report",
    "accept_baseline": "harness.baseline",
    "metric": "harness.score.metrics",
    "metric_registry": "harness.score.metrics",
    "MetricSpec": "harness.score.metrics",
    "MetricItem": "harness.score.metrics",
    "Score": "harness.score.metrics",
    "audit_check": "harness.audit",
    "clean_dataset": "harness.audit",
    "CleanPolicy": "harness.audit",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'harness' has no attribute {name!r}")


__all__ = [
    "AdapterError",
    "AuditResult",
    "BaselineError",
    "BudgetExceeded",
    "CheckRun",
    "Comparison",
    "ConfigError",
    "DataError",
    "Evaluation",
    "Finding",
    "GateResult",
    "HarnessError",
    "ItemScore",
    "JudgeError",
    "MetricError",
    "ModelError",
    "Record",
    "Ref",
    "RunResults",
    "SuiteConfig",
    "SweepResult",
    "TrialResult",
    "TrialSpec",
    "Turn",
    "__version__",
    "evaluate_gates",
    "iter_records",
    "load_audit",
    "load_records",
    "load_results",
    "load_suite",
    "load_sweep",
    *_LAZY,
]
