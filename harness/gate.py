"""Gates: the suite's thresholds, evaluated against results (never by running a model).

A gate is one line of the form ``<path> <op> <number>``:

=============================  ==============================================================
``exact_match >= 0.8``         the selected candidate's metric
``base:exact_match <= 0.1``    another model's metric (``<model>:<metric>``)
``exact_match.delta > 0``      candidate minus base (also ``.ci_low``, ``.ci_high``, ``.p_value``)
``mmlu.delta.ci_low > -2.0``   the lower end of the delta's confidence interval (MMLU in points)
``audit.errors == 0``          audit findings by severity (``errors``, ``warnings``) or by check
                               (``audit.leakage == 0``); ``no error findings`` is an alias
``judge.<name>.win_rate >= 0.5``  a judge's figure (see the judge section of results)
=============================  ==============================================================
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.errors import ConfigError
from harness.results import GateResult, RunResults

OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_GATE = re.compile(
    r"^\s*(?P<path>[A-Za-z0-9_.:/\-]+)\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<value>[-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?)\s*$"
)
ALIASES = {"no error findings": "audit.errors == 0", "no leakage": "audit.leakage == 0"}
DELTA_FIELDS = {"delta", "ci_low", "ci_high", "p_value"}


@dataclass(frozen=True)
class Gate:
    expression: str
    path: str
    op: str
    threshold: float


def parse_gate(expression: str, key: str = "gates") -> Gate:
    text = ALIASES.get(expression.strip().lower(), expression)
    m = _GATE.match(text)
    if not m:
        raise ConfigError(
            f"cannot read gate {expression!r}",
            key=key,
            hint="write '<metric path> <op> <number>', e.g. 'exact_match >= 0.8'",
        )
    return Gate(expression=expression, path=m["path"], op=m["op"], threshold=float(m["value"]))


def parse_gates(expressions: Sequence[str]) -> list[Gate]:
    return [parse_gate(e, f"gates[{i}]") for i, e in enumerate(expressions)]


class _Missing(Exception):
    pass


def observe(results: RunResults, path: str) -> float:
    """The number a gate path names, read from results."""
    if path.startswith("audit."):
        return _audit(results, path.removeprefix("audit."))
    if path.startswith("judge."):
        return _judge(results, path.removeprefix("judge."))
    model, _, rest = path.rpartition(":")
    parts = rest.split(".")
    metric = parts[0]
    fields = parts[1:]
    if metric == "delta":
        raise _Missing("a delta needs a metric first, e.g. 'exact_match.delta'")
    if fields and fields[0] == "delta":
        fields = fields[1:] or ["delta"]
        if fields[0] not in DELTA_FIELDS:
            raise _Missing(f"unknown delta field {fields[0]!r}; use delta, ci_low, ci_high or p_value")
        comp = results.delta(metric, model or None)
        value = getattr(comp, fields[0])
        if value is None:
            raise _Missing(f"{metric} has no {fields[0]}")
        return float(value)
    who = model or results.candidate
    if who is None or who not in results.models:
        raise _Missing(f"no model {who!r} in results")
    if metric not in results.models[who]:
        raise _Missing(f"model {who!r} has no metric {metric!r}; it has {sorted(results.models[who])}")
    return results.models[who][metric]


def _audit(results: RunResults, what: str) -> float:
    if results.audit is None:
        raise _Missing("the run has no audit")
    if what in {"errors", "warnings", "infos"}:
        return float(results.audit.count(what.removesuffix("s")))  # type: ignore[arg-type]
    if what == "findings":
        return float(len(results.audit.findings))
    ran = {c.check for c in results.audit.checks}
    if what not in ran:
        raise _Missing(f"audit check {what!r} did not run; ran: {sorted(ran)}")
    return float(results.audit.count(check=what))


def _judge(results: RunResults, what: str) -> float:
    """``judge.<name>.<figure>``: win_rate, win_rate_adjusted, position_consistency (pairwise, the
    candidate vs base), mean (pointwise, the candidate), kappa, unparseable."""
    name, _, field = what.partition(".")
    run = next((r for r in (results.judges.runs if results.judges else []) if r.name == name), None)
    if run is None:
        raise _Missing(f"no judge named {name!r} in results")
    value: float | None = None
    if field in {"win_rate", "win_rate_adjusted", "position_consistency"}:
        stats = run.pairwise.get(results.candidate or "")
        value = getattr(stats, field) if stats else None
    elif field == "mean":
        score = run.scores.get(results.candidate or "")
        value = score.mean if score else None
    elif field == "kappa":
        value = run.calibration.kappa if run.calibration else None
    elif field in {"unparseable", "failed"}:
        value = float(getattr(run, field))
    if value is None:
        raise _Missing(f"judge {name!r} has no figure {field!r} for {results.candidate!r}")
    return float(value)


def evaluate_gates(results: RunResults, expressions: Sequence[str]) -> list[GateResult]:
    out = []
    for gate in parse_gates(expressions):
        try:
            value = observe(results, gate.path)
        except (_Missing, KeyError) as exc:
            msg = str(exc).strip("'\"")
            out.append(
                GateResult(
                    name=gate.path,
                    expression=gate.expression,
                    passed=False,
                    observed=None,
                    message=f"cannot evaluate: {msg}",
                )
            )
            continue
        ok = OPS[gate.op](value, gate.threshold)
        verdict = "passed" if ok else "FAILED"
        out.append(
            GateResult(
                name=gate.path,
                expression=gate.expression,
                passed=ok,
                observed=value,
                message=f"{verdict}: {gate.path} = {value:.4g} (needs {gate.op} {gate.threshold:g})",
            )
        )
    return out
