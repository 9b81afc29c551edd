"""The metric registry: lookups with did-you-mean, duplicates, the decorator's checks, ``module:function``
references and ``harness.metrics`` entry points (a fake ``*.dist-info`` on sys.path, nothing installed)."""

from __future__ import annotations

import hashlib
import inspect
import math
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from harness import MetricItem, Score, metric
from harness.errors import MetricError
from harness.score.compare import ItemValues, compare
from harness.score.metrics import (
    DuplicateMetricError,
    MetricRegistry,
    MetricSettings,
    UnknownMetricError,
)
from harness.score.metrics.builtin import register_builtins
from harness.score.stats import Paired, mcnemar_from_counts, paired_permutation_p

ITEM = MetricItem("eval/0", prompt="p", reference="ref")


@pytest.fixture
def registry() -> MetricRegistry:
    """A registry of its own (the built-ins, no entry points), so tests do not leak names."""
    reg = MetricRegistry(entry_point_group=None)
    register_builtins(reg)
    return reg


def test_unknown_selector_names_the_known_ones_and_the_nearest(registry: MetricRegistry) -> None:
    with pytest.raises(UnknownMetricError) as err:
        registry.select("exct_match")
    assert str(err.value) == (
        "unknown metric 'exct_match'; did you mean 'exact_match'? Available: exact_match, f1, json, mmlu, "
        "perplexity, regex, rouge_l, schema, stop_rate (or module:function for your own)")
    with pytest.raises(UnknownMetricError, match=r"^unknown metric 'zzz'\. Available: exact_match, f1"):
        registry.select("zzz")


def test_a_metric_name_where_a_selector_belongs_suggests_the_selector(registry: MetricRegistry) -> None:
    with pytest.raises(UnknownMetricError, match=r"unknown metric 'json_valid'; did you mean 'json'\?"):
        registry.select("json_valid")


def test_unknown_metric_name_lookup(registry: MetricRegistry) -> None:
    with pytest.raises(UnknownMetricError) as err:
        registry.get("exact_mtch")
    assert "did you mean 'exact_match'? Available: eval_perplexity, exact_match" in str(err.value)
    assert isinstance(err.value, LookupError)
    assert registry.find("exact_mtch") is None and registry.higher_is_better("exact_mtch") is True


def test_user_metric_is_looked_up_like_a_builtin(registry: MetricRegistry) -> None:
    @registry.metric(higher_is_better=False)
    def errors(output: str) -> float:
        return float(output.count("!"))

    assert registry.select("errors") == (registry.get("errors"),)
    assert registry.higher_is_better("errors") is False
    assert registry.get("errors").score("a!b!", ITEM, MetricSettings()) == Score(2.0)


def test_duplicate_names_are_refused_unless_it_is_the_same_metric(registry: MetricRegistry) -> None:
    def first(output: str) -> bool:
        return bool(output)

    spec = registry.metric(name="taken")(first).__harness_metric__
    registry.register(spec)  # the same function again (a reload): replaced, no error

    def second(output: str) -> bool:
        return not output

    with pytest.raises(DuplicateMetricError, match=r"'taken' is already registered by .*first"):
        registry.metric(name="taken")(second)


@pytest.mark.parametrize("name", ["exact_match", "json", "perplexity", "eval_tokens", "audit", "baseline"])
def test_builtin_names_and_gate_words_cannot_be_taken(registry: MetricRegistry, name: str) -> None:
    with pytest.raises(DuplicateMetricError, match=f"'{name}' is taken by the harness"):
        registry.metric(name=name)(lambda output: 1.0)


def test_a_name_gates_cannot_read_is_refused(registry: MetricRegistry) -> None:
    with pytest.raises(MetricError, match="letters, digits and underscores"):
        registry.metric(name="sql.executes")(lambda output: 1.0)


def test_the_decorator_checks_what_the_function_takes() -> None:
    reg = MetricRegistry(entry_point_group=None)
    with pytest.raises(TypeError, match="parameter 'row' is not one it can be given"):
        reg.metric(lambda output, row: 1.0)
    with pytest.raises(TypeError, match="must take the model's output"):
        reg.metric(lambda reference: 1.0)
    with pytest.raises(TypeError, match=r"\*args/\*\*kwargs"):
        reg.metric(lambda output, **kw: 1.0)
    with pytest.raises(TypeError, match="aggregation='perplexity'"):
        metric(aggregation="perplexity", registry=reg)  # type: ignore[arg-type]


def test_what_a_metric_reads_is_handed_to_it_by_name() -> None:
    reg = MetricRegistry(entry_point_group=None)
    seen: dict[str, object] = {}

    @reg.metric
    def looks(output: str, prompt: str, item: MetricItem, settings: MetricSettings,
              scale: float = 2.0) -> float:
        seen.update(output=output, prompt=prompt, item=item, settings=settings)
        return scale

    spec = reg.get("looks")
    assert spec.reads == ("output", "prompt", "item", "settings")
    settings = MetricSettings()
    assert spec.score("out", ITEM, settings) == Score(2.0)
    assert seen == {"output": "out", "prompt": "p", "item": ITEM, "settings": settings}
    assert spec.origin.endswith(":test_what_a_metric_reads_is_handed_to_it_by_name.<locals>.looks")
    assert spec.code_hash == hashlib.sha256(inspect.getsource(looks).encode()).hexdigest()
    assert spec.identity == f"{spec.origin}@{spec.code_hash}" and not spec.builtin


@pytest.mark.parametrize(("returned", "expected"), [
    (True, Score(1.0)), (np.bool_(False), Score(0.0)), (0.25, Score(0.25)), (np.float32(0.5), Score(0.5)),
    (Score(True, "why"), Score(1.0, "why")),
])
def test_returns_become_scores(returned: object, expected: Score) -> None:
    reg = MetricRegistry(entry_point_group=None)
    spec = reg.metric(name="r")(lambda output: returned).__harness_metric__
    assert spec.score("x", ITEM, MetricSettings()) == expected


@pytest.mark.parametrize(("returned", "error"), [("yes", TypeError), (None, TypeError),
                                                 (math.nan, ValueError), (Score(math.inf), ValueError)])
def test_bad_returns_are_refused(returned: object, error: type[Exception]) -> None:
    reg = MetricRegistry(entry_point_group=None)
    spec = reg.metric(name="r")(lambda output: returned).__harness_metric__
    with pytest.raises(error):
        spec.score("x", ITEM, MetricSettings())


def test_binary_from_the_annotation_else_from_the_values() -> None:
    reg = MetricRegistry(entry_point_group=None)

    @reg.metric
    def declared(output: str) -> bool:
        return bool(output)

    @reg.metric
    def open_ended(output: str) -> float:
        return float(bool(output))

    assert reg.get("declared").binary is True and reg.get("open_ended").binary is None
    base, cand = ItemValues({"a": 1, "b": 0, "c": 0, "d": 0}), ItemValues({"a": 1, "b": 1, "c": 1, "d": 0})
    c = compare(reg.get("open_ended"), "base", base, "x", cand, resamples=200, confidence=0.9)
    assert c.p_value == mcnemar_from_counts(0, 2) and c.improved == ["b", "c"]  # all 0/1: McNemar
    half = ItemValues({"a": 1, "b": 0.5, "c": 0.5, "d": 0})
    c = compare(reg.get("open_ended"), "base", base, "x", half, resamples=200, confidence=0.9)
    paired = Paired.of(*[np.array(v, dtype=float) for v in ([1, 0, 0, 0], [1, 0.5, 0.5, 0], [1, 1, 1, 1])],
                       reg.get("open_ended").transform)
    assert c.p_value == paired_permutation_p(paired, n_resamples=200, seed=0)  # 0.5s: randomization
    assert c.improved == ["b", "c"]  # moved by 0.5 > the 0.1 margin


def _module(folder: Path, name: str, body: str) -> None:
    (folder / f"{name}.py").write_text("from harness import Score, metric\n\n" + textwrap.dedent(body))


@pytest.mark.usefixtures("clean_path")
def test_module_function_is_imported_from_the_suite_folder(registry: MetricRegistry, tmp_path: Path) -> None:
    _module(tmp_path, "team_metrics_a", """
        @metric
        def shouts(output: str) -> bool:
            return output.isupper()
    """)
    (spec,) = registry.select("team_metrics_a:shouts", folder=tmp_path)
    assert spec.name == "shouts" and spec.binary is True and spec.origin == "team_metrics_a:shouts"
    assert registry.get("shouts") == spec and str(tmp_path) in sys.path


@pytest.mark.usefixtures("clean_path")
@pytest.mark.parametrize(("ref", "message"), [
    ("no_such_module_x:fn", r"'no_such_module_x:fn': cannot import 'no_such_module_x': ModuleNotFoundError"),
    ("team_metrics_b:shout", r"module 'team_metrics_b' has no attribute 'shout' \(did you mean "
                             r"team_metrics_b:shouts\?\)"),
    ("team_metrics_b:helper", r"'team_metrics_b:helper' is not a metric \(a function; decorate"),
    ("team_metrics_b", r"unknown metric 'team_metrics_b'"),
    ("team_metrics_b:", r"expected module:function"),
    ("team_metrics_c:fn", r"cannot import 'team_metrics_c': ZeroDivisionError: division by zero"),
])
def test_bad_references_fail_in_one_line(registry: MetricRegistry, tmp_path: Path, ref: str,
                                         message: str) -> None:
    _module(tmp_path, "team_metrics_b", """
        @metric
        def shouts(output: str) -> bool:
            return output.isupper()

        def helper(output: str) -> bool:
            return True
    """)
    _module(tmp_path, "team_metrics_c", "1 / 0\n")
    with pytest.raises(MetricError, match=message) as err:
        registry.select(ref, folder=tmp_path)
    assert "\n" not in str(err.value)


@pytest.mark.usefixtures("clean_path")
def test_entry_point_metrics_are_found_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _module(tmp_path, "installed_metrics", """
        @metric
        def polite(output: str) -> bool:
            return "please" in output

        NOT_A_METRIC = 3
    """)
    dist = tmp_path / "installed_metrics-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: installed-metrics\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[harness.metrics]\npolite = installed_metrics:polite\ncourteous = installed_metrics:polite\n"
        "broken = installed_metrics:NOT_A_METRIC\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = MetricRegistry()
    register_builtins(reg)
    (spec,) = reg.select("polite")
    assert spec.name == "polite" and spec.origin == "installed_metrics:polite" and spec.binary is True
    assert reg.get("courteous").name == "courteous"  # registered under the entry point's name
    with pytest.raises(UnknownMetricError, match=r"did you mean 'polite'\?.* polite, "):
        reg.select("politte")
    with pytest.raises(MetricError, match=r"entry point 'broken' .* is not a metric \(a int"):
        reg.select("broken")
