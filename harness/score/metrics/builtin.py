"""The built-in metrics, registered through the same registry as users' own.

Registration order is the order the report shows them in. Metric names are stable (gates key on
them); the ``selector`` is what a suite lists in ``score.metrics`` to get them, one selector per
metric except ``perplexity`` (``eval_perplexity`` and ``general_perplexity``) and ``mmlu`` (``mmlu``
and ``mmlu/<subject>``). Each selector yields exactly its own metrics: ``exact_match`` does not
bring ``f1``/``rouge_l`` along. Normalization for the text metrics: :mod:`harness.score.exact`;
format checks: :mod:`harness.score.format`; perplexity: :mod:`harness.score.perplexity` (training
masking); MMLU: :mod:`harness.score.mmlu` (lm-eval).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from harness.score import exact
from harness.score.metrics.registry import MetricRegistry, metric_registry, spec_from_function
from harness.score.metrics.spec import PPL_FLIP_RATIO, MetricSettings, MetricSpec, Score


def exact_match(output: str, reference: str, settings: MetricSettings) -> float:
    return exact.exact_match(output, reference, settings.normalizer)


def f1(output: str, reference: str, settings: MetricSettings) -> float:
    return exact.token_f1(output, reference, settings.normalizer)


def rouge_l(output: str, reference: str, settings: MetricSettings) -> float:
    return exact.rouge_l(output, reference, settings.normalizer)


def json_valid(output: str, settings: MetricSettings) -> Score:
    return Score(*settings.formats.json_valid(output))


def schema_valid(output: str, settings: MetricSettings) -> Score:
    return Score(*settings.formats.schema_valid(output))


def regex_match(output: str, settings: MetricSettings) -> Score:
    return Score(*settings.formats.regex_match(output))


def stop_rate(output: str, stop: int | None) -> bool:
    """The answer ended at a stop token (the template's end-of-turn), not at ``max_new_tokens``."""
    return stop is not None


def _per_output(fn: Callable[..., Any], selector: str, *, binary: bool, description: str) -> MetricSpec:
    spec = spec_from_function(fn, binary=binary, description=description)
    return replace(spec, selector=selector, builtin=True)


def _perplexity(split: str, description: str) -> MetricSpec:
    return MetricSpec(
        name=f"{split}_perplexity", reads=("nll", "tokens"),
        job="nll-eval" if split == "eval" else "nll-general",
        aggregation="perplexity", higher_is_better=False, binary=False, flip_margin=PPL_FLIP_RATIO,
        selector="perplexity", weight_key=f"{split}_tokens", origin="harness.score.jobs:nll_job",
        builtin=True, description=description)


def _mmlu(name: str, description: str, *, family: bool = False) -> MetricSpec:
    return MetricSpec(
        name=name, reads=("acc",), job="mmlu", aggregation="percent", binary=True, selector="mmlu",
        family=family, row_key="mmlu", origin="harness.score.jobs:mmlu_job", builtin=True,
        description=description)


BUILTINS = (
    _per_output(exact_match, "exact_match", binary=True,
                description="fraction of outputs equal to the reference after normalization"),
    _per_output(json_valid, "json", binary=True,
                description="fraction of outputs that are a JSON object with at least score.json_keys"),
    _perplexity("eval", "token perplexity of the eval responses (training masking)"),
    _perplexity("general", "token perplexity of data.general (the forgetting canary)"),
    _mmlu("mmlu", "lm-eval accuracy in percent points 0-100, micro over all items"),
    _per_output(f1, "f1", binary=False, description="mean token F1, 0-1"),
    _per_output(rouge_l, "rouge_l", binary=False, description="mean ROUGE-L F, 0-1"),
    _per_output(schema_valid, "schema", binary=True,
                description="fraction of outputs valid against score.json_schema"),
    _per_output(regex_match, "regex", binary=True,
                description="fraction of outputs fully matching score.regex"),
    _mmlu("mmlu/<subject>", "the same, per subject", family=True),
    _per_output(stop_rate, "stop_rate", binary=True,
                description="fraction of answers that ended at a stop token (the template's end-of-turn) "
                            "instead of running to max_new_tokens"),
)


def register_builtins(registry: MetricRegistry) -> None:
    for spec in BUILTINS:
        registry.register(spec)


register_builtins(metric_registry())

__all__ = ["BUILTINS", "register_builtins"]
