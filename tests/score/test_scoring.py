"""Per-item scores from outputs: every selected metric through its spec, the reasons they give, and a
failing metric stopped in one line naming it and the item."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError, MetricError
from harness.score.format import FormatChecks
from harness.score.metrics import MetricItem, MetricRegistry, MetricSettings, Score
from harness.score.metrics.builtin import register_builtins
from harness.score.plan import ScorePlan
from harness.score.scoring import generation_scores


def _plan(*names: str, registry: MetricRegistry, settings: MetricSettings | None = None) -> ScorePlan:
    return ScorePlan(metrics=tuple(registry.get(n) for n in names), perplexity=False, eval_records=[],
                     general_records=[], mmlu_items=[], mmlu_root=None,
                     settings=settings or MetricSettings(formats=FormatChecks(json_keys=("name",))),
                     max_seq_len=64)


@pytest.fixture
def registry() -> MetricRegistry:
    reg = MetricRegistry(entry_point_group=None)
    register_builtins(reg)

    @reg.metric
    def terse(output: str, reference: str) -> Score:
        short = len(output) <= len(reference)
        return Score(short, "" if short else f"{len(output)} chars, the reference has {len(reference)}")

    @reg.metric
    def fragile(output: str) -> float:
        return 1 / len(output)

    return reg


def test_scores_and_reasons_of_builtins_and_users_metrics(registry: MetricRegistry) -> None:
    item = MetricItem("eval/4", prompt="q", reference='{"name": "Leo"}')
    plan = _plan("exact_match", "json_valid", "terse", registry=registry)
    assert generation_scores(plan, '{"name": "Leo"}', item) == (
        {"exact_match": 1.0, "json_valid": 1.0, "terse": 1.0}, {})
    scores, reasons = generation_scores(plan, '{"mood": "sad", "x": 1}', item)
    assert scores == {"exact_match": 0.0, "json_valid": 0.0, "terse": 0.0}
    assert reasons == {"json_valid": "missing keys: name", "terse": "23 chars, the reference has 15"}


def test_a_metric_that_raises_names_itself_and_the_item(registry: MetricRegistry) -> None:
    item = MetricItem("eval/7", prompt="q", reference="r")
    assert generation_scores(_plan("fragile", registry=registry), "ab", item)[0] == {"fragile": 0.5}
    with pytest.raises(MetricError) as err:
        generation_scores(_plan("exact_match", "fragile", registry=registry), "", item)
    assert str(err.value).startswith(
        "metric 'fragile' (test_scoring:registry.<locals>.fragile) failed on eval/7: "
        "ZeroDivisionError: division by zero")


def test_a_settings_error_of_a_builtin_is_not_rewrapped(registry: MetricRegistry) -> None:
    item = MetricItem("eval/0", prompt="q", reference="r")
    with pytest.raises(ConfigError, match=r"needs score\.regex"):
        generation_scores(_plan("regex_match", registry=registry), "x", item)
