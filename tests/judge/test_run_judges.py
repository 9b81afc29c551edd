"""run_judges end to end against the loopback server: protocols, cache, sampling, agreement."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from judge_helpers import judge, make_items
from sklearn.metrics import cohen_kappa_score

from harness.errors import ConfigError, JudgeError
from harness.judge import JudgeItem, JudgeReport, run_judges
from harness.judge.rubrics import load_rubric
from harness.testing.loopback import LoopbackJudge, Reply, SeenRequest, hashed_rating, scripted

Start = Callable[..., LoopbackJudge]


def longer_wins(seen: SeenRequest) -> str:
    """A consistent pairwise judge: the longer response wins, wherever it is shown."""
    a = seen.text.split("[Response of assistant A]")[1].split("[End of response of assistant A]")[0]
    b = seen.text.split("[Response of assistant B]")[1].split("[End of response of assistant B]")[0]
    if len(a) == len(b):
        return "Same length.\n[[C]]"
    return "A is longer.\n[[A]]" if len(a) > len(b) else "B is longer.\n[[B]]"


def expected_rating(server: LoopbackJudge, item: str, model_output: str) -> float:
    shown = f"[Response]\n{model_output}\n[End of response]"
    seen = next(s for s in server.requests if s.item == item and shown in s.text)
    return float(re.findall(r"\[\[(\d)\]\]", hashed_rating(seen))[0])


@pytest.mark.parametrize("backend", ["openai", "anthropic"])
def test_pointwise_scores_every_output_at_temperature_zero(loopback: Start, tmp_path: Path,
                                                          items: list[JudgeItem], backend: str) -> None:
    server = loopback()
    report = run_judges([judge(server, backend)], items, cache_path=tmp_path / "c.db", progress=False)
    run = report.runs[0]
    assert run.items == 24 and len(run.verdicts) == 48 and run.requests == 48 and run.cache_hits == 0
    assert all(v.status == "ok" for v in run.verdicts)
    for v in run.verdicts[:6]:
        output = next(it for it in items if it.item_id == v.item_id).outputs[v.model]
        assert v.score == expected_rating(server, v.item_id, output)
    ft = [v.score for v in run.verdicts if v.model == "ft" and v.score is not None]
    assert run.scores["ft"].mean == pytest.approx(sum(ft) / len(ft)) and run.scores["ft"].n == 24
    bodies = [s.body for s in server.requests]
    assert all(b["model"] == "judge-model" for b in bodies)
    assert all(b.get("temperature") == 0 for b in bodies)  # anthropic: sent through extra_body
    assert run.input_tokens > 0 and run.output_tokens > 0 and run.cost_usd is None  # no price for it
    assert run.rubric == "helpfulness" and run.rubric_hash == load_rubric("helpfulness").content_hash


def test_warm_cache_makes_no_request_and_gives_the_same_verdicts(loopback: Start, tmp_path: Path,
                                                                items: list[JudgeItem]) -> None:
    server = loopback()
    cold = run_judges([judge(server)], items, cache_path=tmp_path / "c.db", progress=False).runs[0]
    sent = server.request_count
    warm = run_judges([judge(server)], items, cache_path=tmp_path / "c.db", progress=False).runs[0]
    assert server.request_count == sent == 48
    assert warm.requests == 0 and warm.cache_hits == 48 and all(v.cached for v in warm.verdicts)
    assert [v.score for v in warm.verdicts] == [v.score for v in cold.verdicts]
    other = run_judges([judge(server, model="another-model")], items, cache_path=tmp_path / "c.db",
                       progress=False).runs[0]
    assert other.requests == 48  # a different judge model is a different judgement


def test_editing_the_rubric_invalidates_cached_verdicts(loopback: Start, tmp_path: Path) -> None:
    server = loopback()
    rubric = (Path(load_rubric("helpfulness").source)).read_text(encoding="utf-8")
    (tmp_path / "helpfulness.yaml").write_text(rubric.replace("three sentences", "two sentences"))
    items = make_items(3)
    run_judges([judge(server)], items, cache_path=tmp_path / "c.db", progress=False)
    edited = run_judges([judge(server)], items, cache_path=tmp_path / "c.db", rubric_dirs=[tmp_path],
                        progress=False).runs[0]
    assert edited.requests == 6 and edited.cache_hits == 0


def test_identical_outputs_are_judged_once(loopback: Start, tmp_path: Path) -> None:
    server = loopback()
    items = [it.model_copy(update={"outputs": {"base": "Same.", "ft": "Same."}}) for it in make_items(4)]
    run = run_judges([judge(server)], items, cache_path=tmp_path / "c.db", progress=False).runs[0]
    assert server.request_count == 4 and len(run.verdicts) == 8
    assert run.scores["base"].mean == run.scores["ft"].mean


def test_unparseable_verdicts_are_reported_not_scored(loopback: Start, tmp_path: Path) -> None:
    def script(seen: SeenRequest) -> Reply:
        return Reply("ok", "I like it a lot.") if seen.item in {"0", "1"} else Reply("ok", "Rating: [[2]]")

    server = loopback(script)
    run = run_judges([judge(server)], make_items(4), cache_path=tmp_path / "c.db", progress=False).runs[0]
    bad = [v for v in run.verdicts if v.status == "unparseable"]
    assert len(bad) == 4 and run.unparseable == 4 and all(v.score is None for v in bad)
    assert all("no rating" in v.reason and v.raw == "I like it a lot." for v in bad)
    assert run.scores["ft"].mean == 2.0 and run.scores["ft"].n == 2 and run.scores["ft"].unparseable == 2


def test_reference_guided_grading_shows_the_reference(loopback: Start, tmp_path: Path,
                                                     items: list[JudgeItem]) -> None:
    server = loopback()
    run_judges([judge(server, rubric="accuracy")], items[:2], cache_path=tmp_path / "c.db", progress=False)
    assert all(items[int(s.item or 0)].reference in s.text for s in server.requests)
    no_ref = [items[0].model_copy(update={"reference": None})]
    with pytest.raises(JudgeError, match="grades against a reference"):
        run_judges([judge(server, rubric="accuracy")], no_ref, cache_path=tmp_path / "c.db", progress=False)


def test_pairwise_asks_both_orders_and_a_consistent_judge_wins(loopback: Start, tmp_path: Path,
                                                              items: list[JudgeItem]) -> None:
    server = loopback(scripted(longer_wins))
    config = judge(server, rubric="pairwise", protocol="pairwise")
    run = run_judges([config], items, cache_path=tmp_path / "c.db", progress=False).runs[0]
    assert server.request_count == 48  # 24 pairs x 2 orders
    longer = sum(len(it.outputs["ft"]) > len(it.outputs["base"]) for it in items)
    shorter = sum(len(it.outputs["ft"]) < len(it.outputs["base"]) for it in items)
    stats = run.pairwise["ft"]
    assert longer > 0 and shorter > 0
    assert (stats.wins, stats.losses, stats.ties) == (longer, shorter, 24 - longer - shorter)
    assert stats.position_consistency == 1.0 and stats.win_rate == pytest.approx(longer / 24)
    v = next(v for v in run.verdicts if len(items[int(v.item_id)].outputs["ft"]) > 40)
    assert v.orders == {"ab": "candidate", "ba": "candidate"} and v.winner == "candidate"


def test_pairwise_position_bias_becomes_ties_not_wins(loopback: Start, tmp_path: Path,
                                                     items: list[JudgeItem]) -> None:
    server = loopback(scripted(lambda seen: "The first one.\n[[A]]"))
    config = judge(server, rubric="pairwise", protocol="pairwise")
    stats = run_judges([config], items, cache_path=tmp_path / "c.db", progress=False).runs[0].pairwise["ft"]
    assert (stats.wins, stats.ties, stats.losses) == (0, 24, 0)
    assert stats.position_consistency == 0.0 and stats.win_rate == 0.0 and stats.win_rate_adjusted == 0.5


def test_pairwise_with_one_unparseable_order_is_unparseable(loopback: Start, tmp_path: Path) -> None:
    items = make_items(3)
    candidate_first = f"[Response of assistant A]\n{items[0].outputs['ft']}\n"

    def verdict(seen: SeenRequest) -> str:
        # Item 0, candidate shown first ("ba"): the judge rambles without a verdict.
        return "Both have merits." if seen.item == "0" and candidate_first in seen.text else "[[B]]"

    server = loopback(scripted(verdict))
    config = judge(server, rubric="pairwise", protocol="pairwise")
    run = run_judges([config], items, cache_path=tmp_path / "c.db", progress=False).runs[0]
    first = next(v for v in run.verdicts if v.item_id == "0")
    assert first.status == "unparseable" and first.winner is None
    assert first.orders == {"ab": "candidate", "ba": None} and first.reason.startswith("ba:")
    assert run.pairwise["ft"].unparseable == 1 and run.pairwise["ft"].n == 2


def test_protocol_must_match_the_rubric(loopback: Start, tmp_path: Path) -> None:
    server = loopback()
    with pytest.raises(ConfigError, match="is pairwise but rubric 'helpfulness' is pointwise"):
        run_judges([judge(server, protocol="pairwise")], make_items(1), cache_path=tmp_path / "c.db")
    assert server.request_count == 0


def test_sampling_is_stable_and_partial(loopback: Start, tmp_path: Path, items: list[JudgeItem]) -> None:
    server = loopback()
    config = judge(server, sample=0.25)
    first = run_judges([config], items, cache_path=tmp_path / "a.db", progress=False).runs[0]
    shuffled = list(reversed(items))
    second = run_judges([config], shuffled, cache_path=tmp_path / "b.db", progress=False).runs[0]
    assert first.items == second.items == 6
    assert {v.item_id for v in first.verdicts} == {v.item_id for v in second.verdicts}


def test_several_judges_agreement_and_json_round_trip(loopback: Start, tmp_path: Path,
                                                     items: list[JudgeItem]) -> None:
    same = loopback()
    other = loopback(scripted(lambda s: "Rating: [[3]]" if len(s.text) % 3 else "Rating: [[4]]"))
    configs = [judge(same, "openai", name="a"), judge(same, "anthropic", name="b"),
               judge(other, "openai", name="c")]
    report = run_judges(configs, items, cache_path=tmp_path / "c.db", progress=False)
    # The same script on both APIs sees different request text, so compare a with c via sklearn.
    a, c = report.run("a"), report.run("c")
    key = sorted((v.item_id, v.model) for v in a.verdicts)
    score = {r.name: {(v.item_id, v.model): v.score for v in r.verdicts} for r in report.runs}
    assert report.agreement["a vs c"] == pytest.approx(
        cohen_kappa_score([score["a"][k] for k in key], [score["c"][k] for k in key]))
    assert set(report.agreement) <= {"a vs b", "a vs c", "b vs c"} and c.scores["ft"].n == 24
    assert JudgeReport.model_validate_json(report.model_dump_json()) == report


def test_duplicate_names_and_item_ids_are_refused(loopback: Start, tmp_path: Path) -> None:
    server = loopback()
    with pytest.raises(ConfigError, match="two judges are named"):
        run_judges([judge(server), judge(server)], make_items(1), cache_path=tmp_path / "c.db")
    with pytest.raises(JudgeError, match="item ids must be unique"):
        run_judges([judge(server)], make_items(1) * 2, cache_path=tmp_path / "c.db")
