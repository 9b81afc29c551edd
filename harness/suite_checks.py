"""Suite checks that need more than the schema: everything that could otherwise fail after hours of work.

Run by :func:`harness.suite.load_suite` after validation, before any work starts,
each failure one :class:`~harness.errors.ConfigError` naming the key path:

- names that become folders (trials) map to distinct folders (:mod:`harness.paths`);
- every path names what it should: a folder (base, MMLU, a local judge's model),
  a regular file of bounded size (data, templates, anchors; :mod:`harness.userfiles`);
- the format settings compile (``json_schema``, ``regex``, ``answer_regex``);
- ``primary_metric`` and ``select`` name a metric and a model the run will have;
- every gate reads a metric the suite's ``score.metrics`` will produce, on a model
  that will exist (``base``, a trial, an ``--adapter``), a judge in ``judges``, a
  field that exists;
- every judge's rubric, protocol, key, anchors and price check out
  (:func:`harness.judge.run.check_judge`), with rubric and anchor paths resolved
  against the suite file's folder (:func:`with_judge_paths`), not the current directory.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.config import SuiteConfig
from harness.errors import ConfigError, DataError, HarnessError
from harness.paths import folder_collisions
from harness.userfiles import check_dir, check_file, read_text, shown_name

_DIRS = ("base.path", "score.mmlu.path")
_TEXT = ("base.chat_template", "audit.serving_template")


def check_suite_path(target: Path, key: str, *, suite: Path) -> None:
    """``target`` (what ``key`` names) exists and is what the key needs; ConfigError naming the key."""
    if not os.path.lexists(target):  # False, not an error, for a NUL or an over-long name too
        raise ConfigError(f"path does not exist: {shown_name(target)}", path=suite, key=key)
    what = key.rpartition(".")[2].replace("_", " ")
    try:
        if key in _DIRS or (key.startswith("judges[") and key.endswith(".model")):
            check_dir(target, what)
        elif key.startswith("audit.benchmarks."):
            _ = check_dir(target, what) if target.is_dir() else check_file(target, what, kind="benchmark")
        elif key in _TEXT:
            read_text(target, what, kind="template")
        elif key.endswith(".anchors"):
            check_file(target, what, kind="anchors")
        else:
            check_file(target, what, kind="json data" if target.suffix.lower() == ".json" else "data")
    except DataError as exc:
        raise ConfigError(str(exc), path=suite, key=key) from None


def check_names(suite: SuiteConfig, path: Path) -> None:
    """Trials whose names map to one folder (``x/y`` and ``x_y``) would share one adapter: refused."""
    specs = suite.sweep.expand()
    labels = [s.label() for s in specs]
    grid = len(specs) - len(suite.sweep.trials) if (suite.sweep.trials or suite.sweep.grid) else len(specs)
    for first, second, folder in folder_collisions(labels):
        index = labels.index(second)
        key = "sweep.grid" if index < grid else f"sweep.trials[{index - grid}].name"
        raise ConfigError(f"trials {first!r} and {second!r} map to one folder, trials/{folder}",
                          path=path, key=key, hint="give them names that differ in letters or digits")


def with_judge_paths(suite: SuiteConfig) -> SuiteConfig:
    """The suite with each judge's rubric path and anchors resolved against the suite file's folder."""
    from harness.judge.rubrics import is_rubric_path

    if not suite.judges:
        return suite
    judges = []
    for judge in suite.judges:
        update: dict[str, str] = {}
        if is_rubric_path(judge.rubric):
            update["rubric"] = str(suite.resolve(judge.rubric))
        if judge.anchors:
            update["anchors"] = str(suite.resolve(judge.anchors))
        judges.append(judge.model_copy(update=update))
    return suite.model_copy(update={"judges": judges})


@dataclass(frozen=True)
class _Produced:
    """What a run of the suite will have: metric names (and families), models, judges."""

    metrics: frozenset[str]
    families: frozenset[str]  # "mmlu/": any "mmlu/<subject>"
    models: tuple[str, ...]
    judges: tuple[str, ...]

    def has_metric(self, name: str) -> bool:
        return name in self.metrics or any(name.startswith(f) and len(name) > len(f) for f in self.families)


def _produced(suite: SuiteConfig, adapters: Sequence[str]) -> _Produced:
    from harness.score.metrics import metric_registry

    registry = metric_registry()
    metrics, families = set(), set()
    for selector in suite.score.metrics:
        for spec in registry.select(selector, folder=suite.folder):
            if spec.job == "nll-general" and not suite.data.general:
                continue  # no general text: the canary is not computed
            if spec.family:
                families.add(spec.name.split("/", 1)[0] + "/")
            else:
                metrics.add(spec.name)
    trials = tuple(s.label() for s in suite.sweep.expand())
    models = ("base", *dict.fromkeys((*trials, *adapters)))
    return _Produced(frozenset(metrics), frozenset(families), models, tuple(j.name for j in suite.judges))


def check_settings(suite: SuiteConfig, path: Path, *, adapters: Sequence[str] = ()) -> None:
    """Format settings, primary metric, selection, gates and judges (see the module docstring)."""
    _check_formats(suite, path)
    produced = _produced(suite, adapters)
    primary = suite.score.primary_metric
    # Only a primary metric the suite names: the default (exact_match) is not a typo where it is absent.
    if "primary_metric" in suite.score.model_fields_set and not produced.has_metric(primary):
        raise ConfigError(_unknown("metric", primary, sorted(produced.metrics)), path=path,
                          key="score.primary_metric", hint="one of the metrics score.metrics yields")
    choices = ["best", "best_passing", *produced.models[1:]]
    if suite.score.select not in choices:
        raise ConfigError(_unknown("model", suite.score.select, choices), path=path, key="score.select")
    _check_gates(suite, path, produced)
    _check_judges(suite, path)


def _check_formats(suite: SuiteConfig, path: Path) -> None:
    from harness.score.format import FormatChecks

    score = suite.score
    # A selected format metric needs its setting; a setting given is checked even if nothing uses it.
    given = {"schema": score.json_schema is not None, "regex": score.regex is not None}
    wanted: list[str] = [m for m in ("schema", "regex") if m in score.metrics or given[m]]
    try:
        FormatChecks(tuple(score.json_keys), score.json_schema, score.regex).validate_config(wanted)
    except ConfigError as exc:
        raise ConfigError(exc.message, path=path, key=exc.key, hint=exc.hint) from None
    if score.answer_regex is not None:
        try:
            re.compile(score.answer_regex, re.DOTALL)
        except re.error as exc:
            raise ConfigError(f"not a valid regular expression: {exc}", path=path,
                              key="score.answer_regex") from None


def _unknown(kind: str, name: str, known: Sequence[str]) -> str:
    near = difflib.get_close_matches(name, list(known), n=1)
    return (f"unknown {kind} {name!r}" + (f"; did you mean {near[0]!r}?" if near else "")
            + f" (known: {', '.join(known) or 'none'})")


def _check_gates(suite: SuiteConfig, path: Path, produced: _Produced) -> None:
    from harness.gate import parse_gate

    for i, expression in enumerate(suite.gates):
        key = f"gates[{i}]"
        try:
            gate = parse_gate(expression, key)
            problem = _gate_problem(gate.path, suite, produced)
        except ConfigError as exc:
            raise ConfigError(exc.message, path=path, key=key, hint=exc.hint) from None
        if problem:
            raise ConfigError(f"{expression!r}: {problem}", path=path, key=key)


def _gate_problem(gate: str, suite: SuiteConfig, produced: _Produced) -> str | None:
    """Why ``gate`` (a gate's path) cannot be read from this suite's results; None when it can."""
    from harness.gate import BASELINE_FIELDS, DELTA_FIELDS, JUDGE_FIELDS, TEMPLATE_FIELDS

    head, _, rest = gate.partition(".")
    if head == "audit":
        if not suite.audit.enabled:
            return "the audit is off (audit.enabled: false): nothing to read"
        from harness.audit.catalog import gate_fields

        known = gate_fields(suite.audit.checks, suite.folder)
        return None if rest in known else _unknown("audit check", rest, known)
    if head == "judge":
        name, _, field = rest.partition(".")
        if name not in produced.judges:
            return _unknown("judge", name, produced.judges)
        return None if field in JUDGE_FIELDS else _unknown("judge figure", field, sorted(JUDGE_FIELDS))
    if head == "baseline":
        metric, _, field = rest.partition(".")
        if metric in {"regressed", "improved"} and not field:
            return None
        if not produced.has_metric(metric):
            return _unknown("metric", metric, sorted(produced.metrics))
        field = field.removeprefix("delta.") or "delta"
        known = sorted(BASELINE_FIELDS)
        return None if field in BASELINE_FIELDS else _unknown("baseline field", field, known)
    model, _, rest = gate.rpartition(":")
    metric, *fields = rest.split(".")
    if model and model not in produced.models:
        return _unknown("model", model, produced.models)
    if metric == "template":  # the chat template's parity checks and stop figures
        field = ".".join(fields)
        known = sorted(TEMPLATE_FIELDS)
        return None if field in TEMPLATE_FIELDS else _unknown("template field", field, known)
    if not produced.has_metric(metric):
        return _unknown("metric", metric, sorted(produced.metrics))
    if not fields:
        return None
    if fields[0] != "delta" or len(fields) > 2 or (len(fields) == 2 and fields[1] not in DELTA_FIELDS):
        return (f"unknown field {'.'.join(fields)!r}; use {metric}.delta or {metric}.delta.<ci_low, "
                "ci_high or p_value>")
    return "the base has no delta: deltas are measured from it" if model == "base" else None


def _check_judges(suite: SuiteConfig, path: Path) -> None:
    if not suite.judges:
        return
    from harness.judge.run import check_judge

    dirs = [suite.folder / "judges"]
    for i, judge in enumerate(suite.judges):
        try:
            check_judge(judge, dirs)
        except ConfigError as exc:
            if exc.path is not None:  # the rubric file's own error: its path and key
                raise ConfigError(str(exc), path=path, key=f"judges[{i}].rubric") from None
            raise ConfigError(exc.message, path=path, key=f"judges[{i}].{exc.key or 'rubric'}",
                              hint=exc.hint) from None
        except DataError as exc:
            raise ConfigError(str(exc), path=path, key=f"judges[{i}].anchors") from None
        except HarnessError as exc:  # a missing key, a budget without a price
            raise ConfigError(exc.message, path=path, key=f"judges[{i}]", hint=exc.hint) from None


__all__ = ["check_names", "check_settings", "check_suite_path", "with_judge_paths"]
