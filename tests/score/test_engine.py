"""evaluate(): base and adapters on one base load, every metric compared, the cache keyed by the weights."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from score_support import ADAPTERS, write_suite

from harness.errors import AdapterError, ConfigError
from harness.score import evaluate
from harness.score.cache import ScoreCache
from harness.score.engine import Evaluation
from harness.score.stats import mcnemar_from_counts
from harness.suite import load_suite

pytestmark = pytest.mark.slow

GEN = ["exact_match", "f1", "rouge_l", "json_valid", "schema_valid", "regex_match"]
SUBJECTS = ["abstract_algebra", "formal_logic"]


def _no_load(*_: Any, **__: Any) -> Any:
    raise AssertionError("the base was loaded, but every result should come from the cache or `loaded`")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("engine")
    for name, src in ADAPTERS.items():
        shutil.copytree(src, folder / name)
    write_suite(folder)
    return folder


@pytest.fixture(scope="module")
def cold(work: Path) -> Evaluation:
    suite = load_suite(work / "suite.yaml")
    adapters = {name: work / name for name in ADAPTERS}
    return evaluate(suite, adapters, cache_path=work / "cache.sqlite", progress=False)


def _dump(ev: Evaluation) -> str:
    return json.dumps([ev.models, [c.model_dump() for c in ev.comparisons],
                       [i.model_dump() for i in ev.items]], sort_keys=True)


def test_every_metric_for_every_model_with_comparisons(cold: Evaluation) -> None:
    metrics = {*GEN, "eval_perplexity", "general_perplexity", "mmlu", *(f"mmlu/{s}" for s in SUBJECTS)}
    assert set(cold.models) == {"base", "partial", "good"}
    for values in cold.models.values():
        assert set(values) == metrics
        assert all(0.0 <= values[m] <= 1.0 for m in GEN)
        assert 0.0 <= values["mmlu"] <= 100.0 and values["mmlu"] * 6 / 100 == pytest.approx(
            round(values["mmlu"] * 6 / 100))  # percent points over 6 items
    assert {(c.metric, c.candidate) for c in cold.comparisons} == {
        (m, a) for m in metrics for a in ("partial", "good")}
    ids = {i.item_id for i in cold.items}
    for c in cold.comparisons:
        assert c.base == "base" and c.n > 0 and c.ci_low <= c.ci_high
        assert c.higher_is_better is not c.metric.endswith("perplexity")
        assert set(c.regressed) <= ids and set(c.improved) <= ids
        assert c.delta == pytest.approx(cold.models[c.candidate][c.metric] - cold.models["base"][c.metric])
        if c.metric not in ("f1", "rouge_l") and not c.metric.endswith("perplexity"):  # binary: McNemar
            assert c.p_value == mcnemar_from_counts(len(c.regressed), len(c.improved))


def test_the_trained_adapter_beats_the_base_where_it_was_trained(cold: Evaluation) -> None:
    em = next(c for c in cold.comparisons if c.metric == "exact_match" and c.candidate == "good")
    assert em.delta > 0.5 and em.ci_low > 0 and em.p_value is not None and em.p_value < 0.01
    assert len(em.improved) >= 6 and em.n == 12
    ppl = next(c for c in cold.comparisons if c.metric == "eval_perplexity" and c.candidate == "good")
    assert ppl.delta < 0 and len(ppl.improved) == 12  # lower is better, every response got likelier
    # the two adapters are different models: their outputs differ somewhere
    outputs = {(i.model, i.item_id): i.output for i in cold.items if i.item_id.startswith("eval/")}
    assert any(outputs[("partial", k)] != outputs[("good", k)] for (m, k) in outputs if m == "good")


def test_items_carry_scores_and_format_reasons(cold: Evaluation) -> None:
    base_rows = [i for i in cold.items if i.model == "base" and i.item_id.startswith("eval/")]
    assert len(base_rows) == 12
    assert all("json_valid" in r.reasons and r.scores["json_valid"] == 0.0 for r in base_rows
               if r.scores["json_valid"] == 0.0)
    assert any(r.reasons.get("json_valid", "").startswith("not JSON") for r in base_rows)
    general = [i for i in cold.items if i.item_id.startswith("general/")]
    assert len(general) == 3 * 8 and all(i.scores["general_tokens"] > 0 for i in general)
    mmlu = [i for i in cold.items if i.item_id.startswith("mmlu/")]
    assert len(mmlu) == 3 * 6 and {i.output for i in mmlu} <= set("ABCD")


def test_a_warm_rerun_runs_no_forward_pass_and_loads_nothing(cold: Evaluation, work: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    assert all(n > 0 for n in cold.forward_passes.values())
    monkeypatch.setattr("harness.models.suite_base.load_base", _no_load)
    suite = load_suite(work / "suite.yaml")
    warm = evaluate(suite, {n: work / n for n in ADAPTERS}, cache_path=work / "cache.sqlite", progress=False)
    assert warm.forward_passes == {"base": 0, "partial": 0, "good": 0}
    assert _dump(warm) == _dump(cold)
    assert warm.hashes == cold.hashes


def test_one_changed_byte_in_an_adapter_recomputes_only_that_adapter(
        cold: Evaluation, work: Path, loaded4: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    changed = work / "partial_changed"
    shutil.copytree(work / "partial", changed)
    weights = changed / "adapter_model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0x01  # one bit of one float in the tensor data: still a loadable adapter
    weights.write_bytes(bytes(data))
    monkeypatch.setattr("harness.models.suite_base.load_base", _no_load)  # `loaded` is reused, not reloaded
    suite = load_suite(work / "suite.yaml")
    with ScoreCache(work / "cache.sqlite") as cache:
        before = cache.count()
    again = evaluate(suite, {"partial": changed, "good": work / "good"}, loaded=loaded4,
                     cache_path=work / "cache.sqlite", progress=False)
    assert again.forward_passes["base"] == 0 and again.forward_passes["good"] == 0
    assert again.forward_passes["partial"] > 0
    assert again.hashes["adapter:partial"] != cold.hashes["adapter:partial"]
    assert again.hashes["adapter:good"] == cold.hashes["adapter:good"]
    keep = [i.model_dump() for i in again.items if i.model != "partial"]
    assert keep == [i.model_dump() for i in cold.items if i.model != "partial"]
    with ScoreCache(work / "cache.sqlite") as cache:
        assert cache.count() > before  # the changed adapter's items were added, nothing else
    # the caller's base is given back bare: the adapters attached here are gone
    assert loaded4.adapters == {} and not hasattr(loaded4.model, "peft_config")


def test_base_scored_with_adapters_disabled_equals_the_bare_base(cold: Evaluation, work: Path) -> None:
    from harness.models import attach_adapters, load_base
    from harness.score.plan import BASE

    loaded = load_base(ADAPTERS["good"].parents[2].parent / "suites" / "demo" / "model",
                       load_in_4bit=True, stop_token_ids=[1, 2])
    attach_adapters(loaded, {"good": work / "good"})  # the caller's adapter stays attached
    suite = load_suite(work / "suite.yaml")
    ev = evaluate(suite, {}, loaded=loaded, cache_path=None, progress=False)  # no cache: recompute
    assert ev.forward_passes[BASE] > 0
    assert [i.model_dump() for i in ev.items] == [i.model_dump() for i in cold.items if i.model == BASE]
    assert set(loaded.adapters) == {"good"}


def test_bad_inputs_fail_before_any_model_work(work: Path, tmp_path: Path) -> None:
    suite = load_suite(work / "suite.yaml")
    with pytest.raises(ConfigError, match="cannot be named 'base'"):
        evaluate(suite, {"base": work / "good"}, progress=False)
    with pytest.raises(AdapterError, match="not a PEFT adapter"):
        evaluate(suite, {"x": tmp_path}, progress=False)
    with pytest.raises(ConfigError, match=r"score\.json_schema: the metric 'schema' needs"):
        load_suite(write_suite(tmp_path, json_schema=None))  # at load now, before any work
