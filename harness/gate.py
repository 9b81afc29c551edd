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
``baseline.exact_match >= 0``  candidate minus the accepted baseline's candidate, paired by item
                               (also ``.delta``, ``.ci_low``, ``.ci_high``, ``.p_value``, and
                               ``.regressed`` / ``.improved``: item counts)
``baseline.regressed == 0``    items that regressed against the baseline on the primary metric
``template.parity == 0``       chat-template parity findings (scorer prompt vs training ids,
                               end-of-turn not a stop token); also ``template.compared``, and
                               the candidate's ``template.unterminated`` (answers that ran to
                               max_new_tokens), ``template.stop_rate``, ``template.end_of_turn_rate``
                               (``<model>:template.stop_rate`` for another model)
=============================  ==============================================================

Every judge in the results adds one gate of its own, ``judge.<name>``: it fails when the judge
stopped (a 401, its budget, an unreachable server) or left more judgements without a verdict
than its ``max_failed`` (default 0), and then every ``judge.<name>.*`` gate fails too, naming
the failures: a run whose judges judged nothing is never PASSED.

Baseline gates read ``results.baseline`` (:mod:`harness.baseline`). A refused baseline (a
comparable hash changed) fails them, naming what changed. With no lockfile they fail when the
suite says ``baseline: {required: true}``, and otherwise pass with a note (a first run).
"""

from __future__ import annotations

import math
import operator
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import ConfigError
from harness.results import Comparison, GateResult, RunResults, ci_note

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
BASELINE_FIELDS = {*DELTA_FIELDS, "regressed", "improved"}
JUDGE_FIELDS = {"win_rate", "win_rate_adjusted", "position_consistency", "mean", "kappa", "unparseable",
                "failed"}


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


class _Skipped(Exception):
    """Nothing to compare with yet and the suite allows it: the gate passes, saying so."""


def observe(results: RunResults, path: str) -> float:
    """The number a gate path names, read from results."""
    if path.startswith("audit."):
        return _audit(results, path.removeprefix("audit."))
    if path.startswith("judge."):
        return _judge(results, path.removeprefix("judge."))
    if path.startswith("baseline."):
        return _baseline(results, path.removeprefix("baseline."))
    model, _, rest = path.rpartition(":")
    if rest.startswith("template."):
        return _template(results, rest.removeprefix("template."), model or results.candidate)
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
        too_few = ci_note(comp.n)
        if fields[0] in {"ci_low", "ci_high"} and too_few:
            raise _Missing(f"{metric}: n too small: {too_few}")
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


TEMPLATE_FIELDS = {"parity", "compared", "unterminated", "stopped", "stop_rate", "end_of_turn_rate"}


def _template(results: RunResults, what: str, model: str | None) -> float:
    """``template.parity`` / ``.compared`` (the run), ``template.<stop figure>`` (a model's answers)."""
    t = results.template
    if t is None:
        raise _Missing("the run has no template section (no generation metric was scored)")
    if what not in TEMPLATE_FIELDS:
        raise _Missing(f"unknown template field {what!r}; use {', '.join(sorted(TEMPLATE_FIELDS))}")
    if what in {"parity", "compared"}:
        return float(getattr(t, what))
    stats = t.stop(model or "")
    if stats is None:
        raise _Missing(f"no generations of model {model!r} in the template section")
    return float(getattr(stats, what))


def _judge(results: RunResults, what: str) -> float:
    """``judge.<name>.<figure>``: win_rate, win_rate_adjusted, position_consistency (pairwise, the
    candidate vs base), mean (pointwise, the candidate), kappa, unparseable."""
    name, _, field = what.partition(".")
    run = next((r for r in (results.judges.runs if results.judges else []) if r.name == name), None)
    if run is None:
        raise _Missing(f"no judge named {name!r} in results")
    if run.problem:
        raise _Missing(run.problem)
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


def _baseline(results: RunResults, what: str) -> float:
    """``baseline.<metric>[.<field>]`` (field default ``delta``; ``delta.ci_low`` reads as ``ci_low``)
    and ``baseline.regressed`` / ``baseline.improved`` (item counts on the primary metric)."""
    b = results.baseline
    if b is None:
        raise _Missing("the run has no baseline comparison (results from before baselines?)")
    if not b.found:
        if b.required:
            raise _Missing(f"{b.note} (baseline.required is true)")
        raise _Skipped(b.note)
    if not b.comparable:
        raise _Missing(b.note)
    metric, _, field = what.partition(".")  # metric names have no dots ("mmlu/<subject>" has a slash)
    if metric in {"regressed", "improved"} and not field:
        metric, field = b.primary_metric, metric
    field = field.removeprefix("delta.") or "delta"
    if field not in BASELINE_FIELDS:
        raise _Missing(f"unknown baseline field {field!r}; use {', '.join(sorted(BASELINE_FIELDS))}")
    m = b.metric(metric)
    why = b.note or f"{metric} was compared on aggregates only"
    if field in {"regressed", "improved"}:
        if not m.n:
            raise _Missing(f"baseline {metric}: no per-item scores to count {field} items; {why}")
        return float(len(getattr(m, field)))
    if field in {"ci_low", "ci_high"} and m.n and ci_note(m.n):
        raise _Missing(f"baseline {metric}: n too small: {ci_note(m.n)}")
    value = getattr(m, field)
    if value is None:
        raise _Missing(f"baseline {metric} has no {field}; {why}")
    return float(value)


def evaluate_gates(
    results: RunResults, expressions: Sequence[str], *, noise_z: float = 2.0
) -> list[GateResult]:
    """Every gate against ``results``; with repeated scoring, against the repeats' noise floor.
    Then one gate per judge: did it judge enough items to be trusted (:func:`judge_gates`)?"""
    return [*(evaluate_gate(results, gate, noise_z) for gate in parse_gates(expressions)),
            *judge_gates(results)]


def judge_gates(results: RunResults) -> list[GateResult]:
    """``judge.<name>``: passes when the judge finished with at most ``max_failed`` judgements
    without a verdict (failed or unparseable), fails naming them (or why the judge stopped)."""
    gates = []
    for run in results.judges.runs if results.judges else []:
        total = len(run.verdicts)
        problem = run.problem
        message = (f"FAILED: {problem}" if problem else
                   f"passed: {run.without_verdict} of {total} judgements without a verdict "
                   f"(needs <= {run.max_failed})")
        gates.append(GateResult(name=f"judge.{run.name}", passed=problem is None,
                                expression=f"judge {run.name}: every judgement has a verdict"
                                if run.max_failed == 0 else
                                f"judge {run.name}: at most {run.max_failed} judgements without a verdict",
                                observed=float(run.without_verdict), message=message))
    return gates


def evaluate_gate(results: RunResults, gate: Gate, noise_z: float = 2.0) -> GateResult:
    """One gate. Repeated scoring (``results.repeats``): the mean must pass by ``noise_z`` standard
    errors of the mean (so a gate whose threshold sits inside the noise fails every time instead of
    flapping), and ``passes`` counts the repeats in which the gate held on its own (pass^N)."""
    try:
        value = observe(results, gate.path)
    except _Skipped as exc:
        return GateResult(
            name=gate.path, expression=gate.expression, passed=True, message=f"passed, not evaluated: {exc}"
        )
    except (_Missing, KeyError) as exc:
        msg = str(exc).strip("'\"")
        return GateResult(
            name=gate.path, expression=gate.expression, passed=False, message=f"cannot evaluate: {msg}"
        )
    head = f"{gate.path} = {value:.4g}"
    tail = ""
    ok = OPS[gate.op](value, gate.threshold)
    noise: dict[str, Any] = {}
    if len(results.repeats) >= 2:
        per = per_repeat(results, gate.path)
        spread = statistics.stdev(per)
        margin = noise_z * spread / math.sqrt(len(per))
        ok = OPS[gate.op](_conservative(value, margin, gate.op), gate.threshold)
        passes = sum(OPS[gate.op](v, gate.threshold) for v in per)
        noise = {"repeats": len(per), "passes": passes, "spread": spread, "margin": margin}
        head += f" ± {margin:.2g} over {len(per)} repeats"
        tail = f"; held in {passes}/{len(per)}"
    verdict = "passed" if ok else "FAILED"
    return GateResult(
        name=gate.path,
        expression=gate.expression,
        passed=ok,
        observed=value,
        message=f"{verdict}: {head} (needs {gate.op} {gate.threshold:g}){tail}",
        **noise,
    )


def per_repeat(results: RunResults, path: str) -> list[float]:
    """The gate's value in each repeat (figures that do not vary by repeat, e.g. audit counts, repeat)."""
    values = []
    for run in results.repeats:
        one = results.model_copy(update={"models": run.models, "comparisons": run.comparisons, "repeats": []})
        try:
            values.append(observe(one, path))
        except (_Missing, KeyError):
            values.append(math.nan)
    return values


def _conservative(value: float, margin: float, op: str) -> float:
    """The end of ``value ± margin`` that makes the comparison hardest to pass."""
    if op in {">", ">="}:
        return value - margin
    if op in {"<", "<="}:
        return value + margin
    return value


def comparison_outcome(results: RunResults, comp: Comparison, tolerance: float) -> tuple[str, str]:
    """``("pass" | "fail" | "skip", why)`` for one base-vs-adapter comparison (a pytest item).

    It fails when the adapter is worse than the base beyond ``tolerance`` (the metric's own
    units) with confidence: the whole interval lies on the wrong side. Only the selected
    candidate can fail: a sweep's other adapters are expected to lose somewhere (that is why
    they were not selected), so their regressions are reported as skipped, with the reason.
    """
    worse = comp.ci_high < -tolerance if comp.higher_is_better else comp.ci_low > tolerance
    if not worse:
        return "pass", ""
    why = (
        f"{comp.candidate} regressed on {comp.metric}: delta {comp.delta:+.4g} "
        f"(CI {comp.ci_low:+.4g}..{comp.ci_high:+.4g}, tolerance {tolerance:g}); "
        f"{len(comp.regressed)} items regressed: {', '.join(comp.regressed[:10])}"
    )
    if results.candidate is not None and comp.candidate != results.candidate:
        return "skip", f"not the selected candidate ({results.candidate}): {why}"
    return "fail", why

