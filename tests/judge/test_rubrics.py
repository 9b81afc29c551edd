"""Rubric files: the shipped ones load and render; broken ones fail with file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.judge.rubrics import DEFAULT_RUBRIC_DIR, available_rubrics, load_rubric

SHIPPED = ["accuracy", "format", "helpfulness", "pairwise", "review"]

GOOD = """\
name: custom
version: 2
protocol: pointwise
template: "Q: {{ prompt }} A: {{ output }} Rate {{ scale_min }}-{{ scale_max }}: [[N]]"
scale: {min: 1, max: 3, anchors: {1: bad, 3: good}}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_folder_is_the_repository_judges_folder() -> None:
    repository = Path(__file__).resolve().parents[2]
    assert repository / "judges" == DEFAULT_RUBRIC_DIR


def test_every_shipped_rubric_loads_and_the_price_table_is_not_a_rubric() -> None:
    assert available_rubrics() == SHIPPED
    for name in SHIPPED:
        rubric = load_rubric(name)
        assert rubric.name == name and rubric.version >= 1 and len(rubric.content_hash) == 64


def test_pointwise_render_shows_the_inputs_and_the_scale() -> None:
    rubric = load_rubric("accuracy")
    system, user = rubric.render_pointwise("What is 2+2?", "five", "4")
    assert "treat it as correct" in system
    assert "What is 2+2?" in user and "five" in user and "[Reference answer]\n4" in user
    assert "5: Fully agrees with the reference." in user and "from 1 to 5" in user
    assert rubric.requires_reference


def test_pairwise_render_places_outputs_in_order_and_reference_is_optional() -> None:
    rubric = load_rubric("pairwise")
    _, user = rubric.render_pairwise("Say hi", "FIRST", "SECOND", None)
    assert user.index("FIRST") < user.index("SECOND")
    assert "Reference answer" not in user
    _, with_ref = rubric.render_pairwise("Say hi", "FIRST", "SECOND", "hello")
    assert "[Reference answer, for your information]\nhello" in with_ref


def test_review_rubric_lists_its_labels() -> None:
    rubric = load_rubric("review")
    _, user = rubric.render_pointwise("Add 2 and 2.", "5", None)
    assert "[[CORRECT]]" in user and "[[WRONG]]" in user
    assert rubric.labels == {"CORRECT": 1.0, "WRONG": 0.0} and rubric.pass_score == 1


def test_rubric_dirs_come_first_and_paths_work(tmp_path: Path) -> None:
    write(tmp_path, "helpfulness", GOOD.replace("custom", "helpfulness"))
    assert load_rubric("helpfulness", [tmp_path]).version == 2
    assert load_rubric("helpfulness").version == 1
    assert load_rubric(str(write(tmp_path, "other", GOOD))).name == "custom"


def test_editing_a_rubric_changes_its_hash(tmp_path: Path) -> None:
    first = load_rubric(str(write(tmp_path, "a", GOOD))).content_hash
    again = load_rubric(str(write(tmp_path, "b", GOOD))).content_hash
    edited = load_rubric(str(write(tmp_path, "c", GOOD.replace("Rate", "Score")))).content_hash
    assert first == again != edited


def test_unknown_rubric_suggests_the_near_name() -> None:
    with pytest.raises(ConfigError, match=r"unknown rubric 'helpfulnes'.*did you mean 'helpfulness'"):
        load_rubric("helpfulnes")
    with pytest.raises(ConfigError, match="rubric file does not exist"):
        load_rubric("no/such/rubric.yaml")


@pytest.mark.parametrize(("text", "message"), [
    (GOOD.replace("version: 2", "versoin: 2"), r"versoin: unknown key \(did you mean 'version'\?\)"),
    (GOOD.replace("version: 2\n", ""), "version: required key is missing"),
    (GOOD.replace("{{ output }}", "{{ answer }}"), r"template: unknown template variable 'answer'"),
    (GOOD.replace("A: {{ output }}", ""), r"template: the template never shows 'output'"),
    (GOOD.replace("{{ prompt }}", "{% if %}"), r"template: template syntax error"),
    (GOOD.replace("max: 3", "max: 1"), r"scale.max \(1\) must be above scale.min"),
    (GOOD.replace("3: good", "7: good"), r"scale.anchors.7: outside the scale"),
    (GOOD.replace("scale:", "labels: {OK: 1, BAD: 0}\nscale:"), "exactly one of 'scale' or 'labels'"),
    (GOOD.replace("protocol: pointwise", "protocol: pairwise"), "pairwise rubric's verdict is fixed"),
    (GOOD + "requires_reference: true\n", "never shows 'reference'"),
    ("- just\n- a list\n", "expected a mapping"),
    ("name: [unclosed\n", "not a valid YAML rubric"),
])
def test_broken_rubrics_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "broken", text)
    with pytest.raises(ConfigError, match=message) as err:
        load_rubric(str(path))
    assert str(path) in str(err.value)
