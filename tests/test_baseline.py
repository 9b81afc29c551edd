"""Baselines: lockfiles, the paired comparison of a run with the accepted one, refusal, and the CLI.

No model runs here: runs are results.json + items.jsonl written by hand.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.assemble import gate_results
from harness.baseline import (
    accept_baseline,
    against_baseline,
    baseline_spec,
    default_lock,
    item_values,
    read_lock,
    read_lock_contents,
)
from harness.cli import main
from harness.gate import evaluate_gates
from harness.pipeline import finish_evaluation
from harness.results import BaselineComparison, Evaluation, ItemScore, RunResults, load_results, write_json
from harness.score.metrics import MetricSpec
from harness.suite import load_suite

ROOT = Path(__file__).resolve().parent.parent
HASHES = {
    "base": "b" * 64,
    "tokenizer": "7" * 64,
    "data:eval": "d" * 64,
    "scorer_version": "1",
    "adapter:ft": "a" * 64,
}
N = 10


def rows(model: str, right: list[int], *, output: str = "out") -> list[ItemScore]:
    """N eval items; ``right`` are the ones the model gets right. Perplexity differs per item."""
    return [
        ItemScore(
            item_id=f"eval/{i}",
            model=model,
            prompt=f"prompt {i}",
            output=f"{output} {i}",
            reference=f"ref {i}",
            scores={"exact_match": float(i in right), "eval_perplexity": 2.0 + i, "eval_tokens": 5.0 + i},
        )
        for i in range(N)
    ]


def models_of(items: list[ItemScore]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name in dict.fromkeys(i.model for i in items):
        mine = [i for i in items if i.model == name]
        nll = sum(math.log(i.scores["eval_perplexity"]) * i.scores["eval_tokens"] for i in mine)
        tokens = sum(i.scores["eval_tokens"] for i in mine)
        out[name] = {
            "exact_match": sum(i.scores["exact_match"] for i in mine) / len(mine),
            "eval_perplexity": math.exp(nll / tokens),
        }
    return out


def write_run(folder: Path, right: list[int], *, hashes: dict[str, str] | None = None,
              output: str = "out") -> tuple[RunResults, list[ItemScore]]:
    items = rows("base", [0]) + rows("ft", right, output=output) + rows("other", [])
    results = RunResults(suite="s", models=models_of(items), candidate="ft", hashes=hashes or HASHES)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(results, folder / "results.json")
    (folder / "items.jsonl").write_text("".join(i.model_dump_json() + "\n" for i in items))
    return results, items


def compare_runs(tmp_path: Path, before: list[int], after: list[int], *,
                 hashes: dict[str, str] | None = None) -> BaselineComparison:
    write_run(tmp_path / "accepted", before, output="old")
    accept_baseline(tmp_path / "accepted")
    results, items = write_run(tmp_path / "now", after, hashes=hashes)
    return read_against(default_lock(tmp_path / "now"), results, items, tmp_path / "now")("ft")


def read_against(lock: Path, results: RunResults, items: list[ItemScore], run_dir: Path,
                 **options: Any) -> Callable[[str | None], BaselineComparison]:
    """The lockfile at ``lock`` read, then the pure comparison of the run's models with it."""
    return against_baseline(read_lock_contents(lock), results, items, run_dir=run_dir, **options)


def gated(comp: BaselineComparison, *gates: str) -> list[tuple[bool, float | None, str]]:
    results = RunResults(suite="s", candidate="ft", baseline=comp)
    return [(g.passed, g.observed, g.message) for g in evaluate_gates(results, list(gates))]


def test_accept_writes_a_v2_lock_with_the_candidates_items(tmp_path: Path) -> None:
    write_run(tmp_path / "run", [1, 2])
    lock = accept_baseline(tmp_path / "run")
    assert lock == tmp_path / "baseline.lock.json"
    data = json.loads(lock.read_text())
    assert data["version"] == 2 and data["candidate"] == "ft" and data["accepted_at"]
    assert {i["model"] for i in data["items"]} == {"ft", "base"}  # "other" is not what a run pairs with
    assert "adapter:ft" not in data["hashes"] and data["hashes"]["data:eval"] == HASHES["data:eval"]
    baseline = read_lock(lock)
    assert baseline.version == 2 and baseline.items is not None and len(baseline.items) == 2 * N


def test_an_identical_run_has_zero_deltas_and_passes(tmp_path: Path) -> None:
    comp = compare_runs(tmp_path, [1, 2, 3], [1, 2, 3])
    assert comp.comparable and comp.paired and comp.changed == [] and comp.note == ""
    em = comp.metric("exact_match")
    assert (em.delta, em.ci_low, em.ci_high, em.n, em.regressed) == (0.0, 0.0, 0.0, N, [])
    assert em.p_value == 1.0
    ppl = comp.metric("eval_perplexity")  # rebuilt from per-item perplexity and tokens
    assert ppl.n == N and ppl.delta == pytest.approx(0.0, abs=1e-9)
    assert ppl.baseline_value == pytest.approx(models_of(rows("ft", []))["ft"]["eval_perplexity"])
    gates = gated(comp, "baseline.exact_match.delta >= 0", "baseline.regressed == 0")
    assert [g[0] for g in gates] == [True, True]


def test_a_regressed_item_is_named_and_fails_the_gate(tmp_path: Path) -> None:
    comp = compare_runs(tmp_path, [1, 2, 3], [1, 2])
    em = comp.metric("exact_match")
    assert em.regressed == ["eval/3"] and em.improved == []
    assert em.delta == pytest.approx(-1 / N) and em.ci_low is not None and em.ci_low < 0
    assert [(r.item_id, r.baseline_output, r.current_output) for r in comp.regressions] == [
        ("eval/3", "old 3", "out 3")
    ]
    (ok, observed, message), (ok2, count, _) = gated(
        comp, "baseline.exact_match.delta >= 0", "baseline.regressed == 0"
    )
    assert not ok and observed == pytest.approx(-0.1) and message.startswith("FAILED")
    assert not ok2 and count == 1.0
    ci, p = gated(comp, "baseline.exact_match.delta.ci_low > -0.5", "baseline.exact_match.p_value <= 1")
    assert ci[0] and ci[1] == em.ci_low and p[0] and p[1] == em.p_value


def test_a_changed_data_hash_is_refused_naming_it(tmp_path: Path) -> None:
    changed = {**HASHES, "data:eval": "e" * 64, "adapter:ft": "f" * 64}  # a new adapter is the point
    comp = compare_runs(tmp_path, [1], [1], hashes=changed)
    assert not comp.comparable and comp.metrics == [] and comp.regressions == []
    assert comp.changed == ["data:eval dddddddd->eeeeeeee"]
    [(ok, observed, message)] = gated(comp, "baseline.exact_match.delta >= 0")
    assert not ok and observed is None
    assert message.startswith("cannot evaluate: baseline refused: data:eval") and "changed since" in message
    assert f"harness baseline accept {tmp_path / 'now'}" in message


def test_a_v1_lock_compares_unpaired_and_says_so(tmp_path: Path) -> None:
    accepted, _ = write_run(tmp_path / "accepted", [1, 2, 3])
    lock = tmp_path / "v1.lock.json"  # what accept_baseline wrote before lockfile version 2
    lock.write_text(json.dumps({"version": 1, "results": accepted.model_dump(mode="json"),
                                "hashes": accepted.hashes}))
    results, items = write_run(tmp_path / "now", [1, 2])
    comp = read_against(lock, results, items, tmp_path / "now")("ft")
    assert comp.comparable and not comp.paired and "version 1" in comp.note
    em = comp.metric("exact_match")
    assert em.delta == pytest.approx(-0.1)
    assert (em.ci_low, em.p_value, em.n, em.regressed) == (None, None, 0, [])
    delta, ci, regressed = gated(
        comp, "baseline.exact_match >= -0.2", "baseline.exact_match.ci_low > -1", "baseline.regressed == 0"
    )
    assert delta[0] and delta[1] == pytest.approx(-0.1)
    assert not ci[0] and "has no ci_low" in ci[2] and "version 1" in ci[2]
    assert not regressed[0] and "no per-item scores" in regressed[2]


@pytest.mark.parametrize("required", [False, True])
def test_a_missing_lock_passes_with_a_note_unless_required(tmp_path: Path, required: bool) -> None:
    results, items = write_run(tmp_path / "now", [1])
    lock = tmp_path / "nowhere.lock.json"
    comp = read_against(lock, results, items, tmp_path / "now", required=required)("ft")
    assert not comp.found and not comp.comparable
    [(ok, observed, message)] = gated(comp, "baseline.exact_match.delta >= 0")
    assert ok is not required and observed is None
    assert str(lock) in message and f"harness baseline accept {tmp_path / 'now'} --to {lock}" in message
    assert message.startswith("cannot evaluate" if required else "passed, not evaluated")


def test_an_unreadable_lock_fails_baseline_gates(tmp_path: Path) -> None:
    results, items = write_run(tmp_path / "now", [1])
    lock = tmp_path / "baseline.lock.json"
    lock.write_text("{not json")
    comp = read_against(lock, results, items, tmp_path / "now")("ft")
    [(ok, _, message)] = gated(comp, "baseline.exact_match.delta >= 0")
    assert comp.found and not comp.comparable and not ok and "not a baseline lockfile" in message


def test_item_values_pair_mmlu_subjects_by_item_id() -> None:
    items = [
        ItemScore(item_id=f"mmlu/{s}/{k}", model="ft", prompt="q", output="A", reference="A",
                  scores={"mmlu": float(k % 2)})
        for s in ("law", "art")
        for k in range(3)
    ]
    values = item_values(items, "ft", baseline_spec("mmlu/law"))
    assert values is not None
    assert dict(values.num) == {"mmlu/law/0": 0.0, "mmlu/law/1": 1.0, "mmlu/law/2": 0.0}
    assert item_values(items, "base", baseline_spec("mmlu")) is None


def test_a_metric_no_scorer_knows_is_compared_on_aggregates() -> None:
    assert baseline_spec("judge_score") == MetricSpec("judge_score")  # binary inferred from its values
    assert baseline_spec("mmlu/law").binary and baseline_spec("eval_perplexity").perplexity


def suite(tmp_path: Path, select: str, gates: list[str]):  # type: ignore[no-untyped-def]
    tiny = ROOT / "tests" / "fixtures" / "tiny"
    text = (tiny / "suite.yaml").read_text()
    text = text.replace("../../../suites/demo/model", str(ROOT / "suites" / "demo" / "model"))
    for name in ("train.jsonl", "eval.jsonl", "general.jsonl"):
        text = text.replace(f": {name}", f": {tiny / name}")
    text = text.replace("gates:\n  - exact_match >= 0.0\n  - audit.leakage == 0\n",
                        "gates:\n" + "".join(f"  - {g}\n" for g in gates))
    text = text.replace("  bootstrap: 200\n", f"  bootstrap: 200\n  select: {select}\n")
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    return load_suite(path)


def test_best_passing_compares_each_adapter_it_tries_with_the_baseline(tmp_path: Path) -> None:
    write_run(tmp_path / "accepted", [1, 2, 3])
    accept_baseline(tmp_path / "accepted")
    items = rows("base", []) + rows("wide", [1, 2, 4, 5]) + rows("narrow", [1, 2, 3])
    results = RunResults(suite="s", models=models_of(items), candidate="wide", hashes=HASHES)
    s = suite(tmp_path, "best_passing", ["baseline.regressed == 0"])
    against = read_against(default_lock(tmp_path / "now"), results, items, tmp_path / "now")
    # "wide" is best on exact match but lost item 3, which the baseline got right
    assert against("wide").metric("exact_match").regressed == ["eval/3"]
    done = gate_results(s, results.model_copy(update={"baseline": against("wide")}), baseline=against)
    assert done.candidate == "narrow" and done.passed
    assert done.baseline is not None and done.baseline.candidate == "narrow"


def test_finish_records_the_comparison_in_results_and_report(tmp_path: Path) -> None:
    write_run(tmp_path / "accepted", [1, 2, 3])
    accept_baseline(tmp_path / "accepted")
    items = rows("base", [0]) + rows("ft", [1, 2], output="<script>alert(1)</script>")
    s = suite(tmp_path, "best", ["baseline.exact_match.delta >= 0"])
    out = tmp_path / "now"
    out.mkdir()
    scored = Evaluation(models=models_of(items), comparisons=[], items=items, forward_passes={},
                        hashes=HASHES)
    done = finish_evaluation(s, out, scored, audit=None, sweep=None)
    assert not done.passed and done.baseline is not None and done.baseline.metric("exact_match").regressed
    assert load_results(out / "results.json").baseline == done.baseline
    html = (out / "index.html").read_text()
    assert 'id="baseline-items"' in html and "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)" in html


def test_cli_compare_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_run(tmp_path / "accepted", [1, 2, 3])
    assert main(["baseline", "accept", str(tmp_path / "accepted")]) == 0
    write_run(tmp_path / "now", [1, 2])
    capsys.readouterr()
    assert main(["baseline", "compare", str(tmp_path / "now")]) == 0  # a regression is for gates to judge
    out = capsys.readouterr().out
    assert "exact_match" in out and "-0.1" in out and "eval/3" in out

    write_run(tmp_path / "changed", [1, 2], hashes={**HASHES, "tokenizer": "8" * 64})
    assert main(["baseline", "compare", str(tmp_path / "changed")]) == 2
    err = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(err) == 1 and "not comparable: tokenizer 77777777->88888888" in err[0]

    missing = tmp_path / "none.lock.json"
    assert main(["baseline", "compare", str(tmp_path / "now"), "--lock", str(missing)]) == 2
    err = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(err) == 1 and str(missing) in err[0] and "no baseline" in err[0]

    assert main(["baseline", "compare", str(tmp_path / "empty")]) == 2
    assert "results.json" in capsys.readouterr().err


def test_suite_baseline_section(tmp_path: Path) -> None:
    from harness.errors import ConfigError
    from harness.pipeline import baseline_lock

    s = suite(tmp_path, "best", ["exact_match >= 0"])
    assert (s.baseline.path, s.baseline.required) == (None, False)
    assert baseline_lock(s, tmp_path / "reports" / "run") == tmp_path / "reports" / "baseline.lock.json"
    path = tmp_path / "suite.yaml"
    path.write_text(path.read_text() + "baseline: {path: locks/b.json, required: true}\n")
    s = load_suite(path)
    assert s.baseline.required and baseline_lock(s, tmp_path / "out") == tmp_path / "locks" / "b.json"
    path.write_text(path.read_text().replace("required: true", "requird: true"))
    with pytest.raises(ConfigError, match=r"baseline\.requird: unknown key \(did you mean 'required'\?\)"):
        load_suite(path)


def test_a_changed_judge_model_or_rubric_is_refused() -> None:
    from harness.baseline import changed_hashes
    from harness.judge.results import JudgeReport, JudgeRun

    def with_judge(model: str, rubric_hash: str) -> RunResults:
        run = JudgeRun(name="helpful", backend="openai", model=model, rubric="helpfulness", rubric_version=1,
                       rubric_hash=rubric_hash, protocol="pairwise", items=10)
        return RunResults(suite="s", hashes=HASHES, judges=JudgeReport(runs=[run]))

    before = with_judge("gpt-4o-mini", "1" * 64)
    assert changed_hashes(with_judge("gpt-4o-mini", "1" * 64), before) == []
    assert changed_hashes(with_judge("gpt-4.1", "2" * 64), before) == [
        "judge:helpful:model gpt-4o-mini->gpt-4.1",
        "judge:helpful:rubric 11111111->22222222",
    ]


def test_a_changed_user_metric_is_refused_naming_its_function() -> None:
    from harness.baseline import changed_hashes

    def with_metric(code: str) -> RunResults:
        identity = f"team.metrics:sql_executes@{code}"
        return RunResults(suite="s", hashes={**HASHES, "metric:sql_executes": identity})

    assert changed_hashes(with_metric("1" * 64), RunResults(suite="s", hashes=HASHES)) == []  # newly added
    assert changed_hashes(with_metric("2" * 64), with_metric("1" * 64)) == [
        "metric:sql_executes team.metrics:sql_executes@11111111->team.metrics:sql_executes@22222222"]
