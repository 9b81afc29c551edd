"""score.repeats: the held-out set sampled N times, scored per repeat, pooled per item."""

from __future__ import annotations

import shutil
import statistics
from pathlib import Path

import pytest
from score_support import ADAPTERS, write_suite

from harness.errors import ConfigError
from harness.score import evaluate
from harness.score.compare import ItemValues
from harness.score.engine import Evaluation, mean_values, split_repeats
from harness.suite import load_suite

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sampled(tmp_path_factory: pytest.TempPathFactory) -> Evaluation:
    folder = tmp_path_factory.mktemp("repeats")
    shutil.copytree(ADAPTERS["partial"], folder / "partial")
    write_suite(folder, metrics=["exact_match", "json", "perplexity"], temperature=1.0, repeats=3, seed=7)
    suite = load_suite(folder / "suite.yaml")
    return evaluate(suite, {"partial": folder / "partial"}, progress=False)


def test_each_repeat_samples_under_its_own_seed_and_headline_metrics_are_their_means(
    sampled: Evaluation,
) -> None:
    assert [r.seed for r in sampled.repeats] == [7, 8, 9]
    for model, metrics in sampled.models.items():
        for metric, value in metrics.items():
            per = [r.models[model][metric] for r in sampled.repeats]
            assert value == pytest.approx(statistics.fmean(per))
    # sampling at temperature 1 on the partial adapter: the repeats disagree somewhere
    spread = [r.models["partial"]["json_valid"] for r in sampled.repeats] + [
        r.models["base"]["exact_match"] for r in sampled.repeats
    ]
    assert len({round(v, 6) for v in spread}) > 1
    # perplexity does not depend on sampling: identical in every repeat
    assert len({r.models["partial"]["eval_perplexity"] for r in sampled.repeats}) == 1


def test_pooled_comparisons_pair_item_means_and_use_the_randomization_test(sampled: Evaluation) -> None:
    comp = next(c for c in sampled.comparisons if c.metric == "json_valid")
    means = statistics.fmean(r.models["partial"]["json_valid"] for r in sampled.repeats)
    assert comp.candidate_value == pytest.approx(means)
    assert comp.ci_low <= comp.delta <= comp.ci_high
    per_repeat = [next(c for c in r.comparisons if c.metric == "json_valid") for r in sampled.repeats]
    assert comp.delta == pytest.approx(statistics.fmean(c.delta for c in per_repeat))


def test_split_and_mean_values() -> None:
    raw = {"base": {"gen": {"a": {"output": "x"}}, "gen@1": {"a": {"output": "y"}}, "nll-eval": {"a": {}}}}
    first, second = split_repeats(raw)
    assert first["base"]["gen"] == {"a": {"output": "x"}} and second["base"]["gen"] == {"a": {"output": "y"}}
    assert first["base"]["nll-eval"] is second["base"]["nll-eval"] and "gen@1" not in first["base"]
    pooled = mean_values([
        {"m": {"em": ItemValues({"a": 1.0, "b": 0.0})}},
        {"m": {"em": ItemValues({"a": 0.0, "b": 0.0})}},
    ])
    assert dict(pooled["m"]["em"].num) == {"a": 0.5, "b": 0.0}


def test_repeats_without_sampling_is_a_config_error(tmp_path: Path) -> None:
    write_suite(tmp_path, repeats=3)
    with pytest.raises(ConfigError, match=r"score\.repeats: 3 repeats need sampling"):
        load_suite(tmp_path / "suite.yaml")
