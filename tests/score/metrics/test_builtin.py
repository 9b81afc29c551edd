"""The built-in metrics as the registry holds them: the selectors suites use (a contract), what each
yields and how it is aggregated and compared, and README's table, which is the registry's own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.score.exact import Normalizer
from harness.score.format import FormatChecks
from harness.score.metrics import MetricItem, MetricRegistry, MetricSettings, Score
from harness.score.metrics.builtin import register_builtins

README = Path(__file__).resolve().parents[3] / "README.md"


@pytest.fixture(scope="module")
def registry() -> MetricRegistry:
    reg = MetricRegistry(entry_point_group=None)
    register_builtins(reg)
    return reg


def test_selectors_and_what_each_yields(registry: MetricRegistry) -> None:
    yields = {sel: [m.name for m in registry.select(sel)] for sel in registry.selectors()}
    assert yields == {
        "exact_match": ["exact_match"], "json": ["json_valid"], "f1": ["f1"], "rouge_l": ["rouge_l"],
        "perplexity": ["eval_perplexity", "general_perplexity"], "mmlu": ["mmlu", "mmlu/<subject>"],
        "schema": ["schema_valid"], "regex": ["regex_match"], "stop_rate": ["stop_rate"]}
    assert all(m.builtin for m in registry.specs())


@pytest.mark.parametrize(("name", "aggregation", "higher", "binary", "job"), [
    ("exact_match", "mean", True, True, "generation"), ("f1", "mean", True, False, "generation"),
    ("json_valid", "mean", True, True, "generation"), ("regex_match", "mean", True, True, "generation"),
    ("eval_perplexity", "perplexity", False, False, "nll-eval"),
    ("general_perplexity", "perplexity", False, False, "nll-general"),
    ("mmlu", "percent", True, True, "mmlu"), ("mmlu/formal_logic", "percent", True, True, "mmlu"),
    ("stop_rate", "mean", True, True, "generation"),
])
def test_how_each_is_aggregated_and_compared(registry: MetricRegistry, name: str, aggregation: str,
                                             higher: bool, binary: bool, job: str) -> None:
    spec = registry.get(name)
    assert (spec.name, spec.aggregation, spec.higher_is_better, spec.binary, spec.job) == (
        name, aggregation, higher, binary, job)


def test_a_subject_reads_its_own_mmlu_rows(registry: MetricRegistry) -> None:
    spec = registry.get("mmlu/law")
    assert spec.row_value("mmlu/law/3", {"mmlu": 1.0}) == (1.0, None)
    assert spec.row_value("mmlu/art/3", {"mmlu": 1.0}) is None
    ppl = registry.get("eval_perplexity")
    assert ppl.row_value("eval/0", {"eval_perplexity": 4.0, "eval_tokens": 3.0}) == pytest.approx(
        (3 * 1.3862943611198906, 3.0))
    assert ppl.row_value("eval/0", {"eval_perplexity": 4.0}) is None


def test_per_output_builtins_read_the_suites_settings(registry: MetricRegistry) -> None:
    item = MetricItem("eval/0", prompt="q", reference="The answer: Paris.")
    settings = MetricSettings(Normalizer(punctuation=True, answer_regex=r"answer: (\w+)"),
                              FormatChecks(json_keys=("name",), regex=r"\{.*\}"))
    assert registry.get("exact_match").score("my answer: paris!", item, settings) == Score(1.0)
    assert registry.get("json_valid").score('{"mood": 1}', item, settings) == Score(0.0, "missing keys: name")
    assert registry.get("json_valid").score('{"name": 1}', item, settings) == Score(1.0)
    assert registry.get("regex_match").score("{x}", item, settings) == Score(1.0)
    with pytest.raises(TypeError, match="computed by its mmlu job"):
        registry.get("mmlu").score("A", item, settings)


def test_stop_rate_reads_how_the_output_ended(registry: MetricRegistry) -> None:
    spec = registry.get("stop_rate")
    assert spec.reads == ("output", "stop")
    ended = MetricItem("eval/0", prompt="q", reference="r", stop=514)
    ran_on = MetricItem("eval/0", prompt="q", reference="r")
    assert spec.score("r", ended, MetricSettings()) == Score(1.0)
    assert spec.score("r", ran_on, MetricSettings()) == Score(0.0)


def test_readme_lists_the_registry(registry: MetricRegistry) -> None:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- metrics-table:begin -->\n(.*?)\n<!-- metrics-table:end -->", text, re.DOTALL)
    assert found is not None, "README.md has no metrics table"
    assert found.group(1) == registry.table()

