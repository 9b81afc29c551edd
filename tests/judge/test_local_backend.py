"""The local backend: a real HF model in-process (the tiny demo story model, which cannot judge)."""

from __future__ import annotations

from pathlib import Path

import pytest
from judge_helpers import FIXTURES, make_items

from harness.judge import JudgeConfig, JudgeItem, run_judges
from harness.judge.backends.local_hf import local_model_identity

DEMO = Path(__file__).resolve().parents[2] / "suites" / "demo" / "model"
RUBRICS = [FIXTURES / "rubrics"]


def local_judge(**overrides: object) -> JudgeConfig:
    fields: dict[str, object] = {"name": "local", "backend": "local", "model": str(DEMO), "rubric": "tiny"}
    fields.update(overrides)
    return JudgeConfig.model_validate(fields)


def short_items() -> list[JudgeItem]:
    return [it.model_copy(update={"outputs": {"ft": it.outputs["ft"][:80]}}) for it in make_items(3)]


@pytest.mark.slow
def test_a_model_that_cannot_judge_gives_unparseable_verdicts_not_scores(tmp_path: Path) -> None:
    items = short_items()
    judge = local_judge(unparseable_retries=0)  # greedy: asking again in the run gives the same story
    run = run_judges([judge], items, cache_path=tmp_path / "c.db", rubric_dirs=RUBRICS,
                     progress=False).runs[0]
    assert run.requests == 3 and run.failed == 0 and run.cost_usd == 0.0
    assert run.input_tokens > 3 * 20 and run.output_tokens > 0
    for v in run.verdicts:
        assert v.raw.strip(), "the model generated text"
        unparseable = v.status == "unparseable" and v.score is None
        assert unparseable or (v.status == "ok" and 1 <= (v.score or 0) <= 5)
    # A story model answers with stories: at least one verdict must be unparseable, and reported so.
    assert run.unparseable >= 1 and run.scores["ft"].unparseable == run.unparseable
    again = run_judges([judge], items, cache_path=tmp_path / "c.db", rubric_dirs=RUBRICS,
                       progress=False).runs[0]
    # Only readable verdicts were cached: the unparseable ones are asked again, the rest are not.
    assert again.requests == run.unparseable and again.cache_hits == 3 - run.unparseable
    assert [v.raw for v in again.verdicts] == [v.raw for v in run.verdicts]  # greedy: temperature 0


@pytest.mark.slow
def test_a_prompt_longer_than_the_context_is_a_failed_judgement(tmp_path: Path) -> None:
    long = make_items(1)[0].model_copy(update={"outputs": {"ft": "word " * 1500}})
    run = run_judges([local_judge()], [long], cache_path=tmp_path / "c.db", rubric_dirs=RUBRICS,
                     progress=False).runs[0]
    (v,) = run.verdicts
    assert v.status == "error" and "context is 512" in v.reason and run.failed == 1


def test_local_cache_identity_follows_the_weights(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    copy.mkdir()
    for f in DEMO.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    before = local_model_identity(str(copy))
    (copy / "config.json").write_text((copy / "config.json").read_text() + " ")
    assert local_model_identity(str(copy)) != before
