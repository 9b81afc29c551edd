"""A user's own metric end to end: selected from a suite by ``module:function``, scored on the real tiny
model, compared with CIs and flipped items, gated, shown in the report, its code hashed so that a
baseline refuses a changed metric, and recomputed from the cached outputs on every run."""

from __future__ import annotations

import hashlib
import inspect
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import user_metrics
import yaml
from score_support import ADAPTERS, write_suite

from harness.cli import main
from harness.results import ItemScore, RunResults, load_items, load_results
from harness.score.stats import Paired, identity, mcnemar_from_counts, paired_permutation_p
from harness.testing.html_tables import table_rows

METRICS = ["exact_match", "user_metrics:name_correct", "user_metrics:key_recall", "drifting:short_output"]
GATES = ["name_correct >= 0.5", "name_correct.delta.ci_low > 0", "key_recall.delta > 0.5",
         "base:name_correct >= 0.5"]  # the base names no one: the last gate fails
DRIFTING = """from harness import metric


@metric
def short_output(output: str) -> bool:
    return len(output) < {limit}
"""


def _suite(folder: Path, metrics: list[str], gates: list[str]) -> Path:
    path = write_suite(folder, metrics=metrics)
    suite = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**suite, "gates": gates}))
    return path


def _eval(suite: Path, out: Path) -> int:
    adapters = [arg for name in ADAPTERS for arg in ("--adapter", f"{name}={suite.parent / name}")]
    return main(["eval", str(suite), "--out", str(out), "--quiet", *adapters])


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("user-metric")
    for name, src in ADAPTERS.items():
        shutil.copytree(src, folder / name)
    (folder / "drifting.py").write_text(DRIFTING.format(limit=40))  # found beside the suite file
    _suite(folder, METRICS, GATES)
    return folder


@pytest.fixture(scope="module")
def run(work: Path) -> tuple[int, RunResults, list[ItemScore]]:
    code = _eval(work / "suite.yaml", work / "out")
    return code, load_results(work / "out" / "results.json"), load_items(work / "out" / "items.jsonl")


pytestmark = pytest.mark.slow


def _values(items: list[ItemScore], model: str, metric: str) -> dict[str, float]:
    return {i.item_id: i.scores[metric] for i in items if i.model == model and metric in i.scores}


def test_scored_per_item_with_reasons(run: tuple[int, RunResults, list[ItemScore]]) -> None:
    _, results, items = run
    for model in ("base", "partial", "good"):
        values = _values(items, model, "name_correct")
        assert len(values) == 12 and set(values.values()) <= {0.0, 1.0}
        assert results.models[model]["name_correct"] == pytest.approx(sum(values.values()) / 12)
    assert results.models["good"]["name_correct"] > results.models["base"]["name_correct"]
    base_rows = [i for i in items if i.model == "base" and i.item_id.startswith("eval/")]
    for row in base_rows:
        if user_metrics._object(row.output) is None:
            assert row.reasons["name_correct"] == "not a JSON object"
    assert any("name_correct" in i.reasons for i in base_rows)
    good = [i for i in items if i.model == "good" and i.scores.get("name_correct") == 1.0]
    assert all("name_correct" not in i.reasons for i in good)


def test_compared_like_a_builtin(run: tuple[int, RunResults, list[ItemScore]]) -> None:
    _, results, items = run
    for cand in ("partial", "good"):
        for metric in ("name_correct", "key_recall", "short_output"):
            c = results.delta(metric, cand)
            assert c.n == 12 and c.ci_low <= c.delta <= c.ci_high and c.higher_is_better
        base, now = _values(items, "base", "name_correct"), _values(items, cand, "name_correct")
        c = results.delta("name_correct", cand)
        assert c.improved == [i for i in base if base[i] == 0 and now[i] == 1]
        assert c.regressed == [i for i in base if base[i] == 1 and now[i] == 0]
        assert c.p_value == mcnemar_from_counts(len(c.regressed), len(c.improved))  # 0/1 values: McNemar
    assert results.delta("name_correct", "good").ci_low > 0
    # key_recall scores 0.5 for a right name with a wrong mood: not binary, so the randomization test
    base, now = _values(items, "base", "key_recall"), _values(items, "partial", "key_recall")
    assert 0.5 in now.values()
    b, c_ = (np.array([v[i] for i in base]) for v in (base, now))
    paired = Paired.of(b, c_, np.ones_like(b), identity)
    expected = paired_permutation_p(paired, n_resamples=200, seed=0)
    assert results.delta("key_recall", "partial").p_value == expected


def test_gated(run: tuple[int, RunResults, list[ItemScore]]) -> None:
    code, results, _ = run
    assert [(g.expression, g.passed) for g in results.gates] == [
        (GATES[0], True), (GATES[1], True), (GATES[2], True), (GATES[3], False)]
    assert results.gates[0].observed == results.models["good"]["name_correct"] == 1.0
    assert code == 1  # a gate failed


def test_shown_in_the_report(run: tuple[int, RunResults, list[ItemScore]], work: Path) -> None:
    _, results, _ = run
    html = (work / "out" / "index.html").read_text(encoding="utf-8")
    models = {row["model"]: row for row in table_rows(html, "model")}
    assert float(models["good (candidate)"]["name_correct"]) == results.models["good"]["name_correct"]
    base = results.models["base"]["key_recall"]
    assert float(models["base"]["key_recall"]) == pytest.approx(base, abs=1e-4)
    comps = {(row["metric"], row["candidate"]): row for row in table_rows(html, "metric")}
    row = comps[("name_correct", "good")]
    assert float(row["delta"]) == pytest.approx(results.delta("name_correct", "good").delta, abs=1e-4)
    assert int(row["improved"]) == len(results.delta("name_correct", "good").improved)


def test_metric_code_is_hashed_and_a_change_is_recomputed_and_refuses_the_baseline(
    run: tuple[int, RunResults, list[ItemScore]], work: Path
) -> None:
    _, results, items = run
    source = inspect.getsource(user_metrics.name_correct)
    assert results.hashes["metric:name_correct"] == (
        f"user_metrics:name_correct@{hashlib.sha256(source.encode()).hexdigest()}")
    assert set(results.hashes) >= {"metric:key_recall", "metric:short_output"}
    assert not any(k == "metric:exact_match" for k in results.hashes)  # built-ins: scorer_version
    assert main(["baseline", "accept", str(work / "out")]) == 0

    (work / "drifting.py").write_text(DRIFTING.format(limit=5))  # the team changes its metric
    sys.modules.pop("drifting", None)
    assert _eval(work / "suite.yaml", work / "out") == 1
    again = load_results(work / "out" / "results.json")
    assert again.meta["forward_passes"] == {"base": 0, "partial": 0, "good": 0}  # outputs from the cache
    now = _values(load_items(work / "out" / "items.jsonl"), "good", "short_output")
    outputs = {i.item_id: i.output for i in items if i.model == "good" and i.item_id.startswith("eval/")}
    assert now == {k: float(len(o) < 5) for k, o in outputs.items()} != _values(items, "good", "short_output")
    assert again.hashes["metric:short_output"] != results.hashes["metric:short_output"]
    assert again.baseline is not None and not again.baseline.comparable
    assert [c.split()[0] for c in again.baseline.changed] == ["metric:short_output"]
    assert "drifting:short_output@" in again.baseline.note
