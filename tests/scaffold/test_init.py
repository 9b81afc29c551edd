"""init's own decisions that need no model: the suite's name and the files it refuses to overwrite."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.scaffold import _name, _targets


def test_the_suite_is_named_by_the_first_telling_name() -> None:
    assert _name(Path("suite.yaml"), Path("suites/demo/train.jsonl")) == "demo"
    assert _name(Path("ci/gate.yaml"), Path("x/train.jsonl")) == "gate"
    assert _name(Path("suite.yaml"), Path("d/alpaca 200.json")) == "alpaca-200"


def test_every_file_it_would_write_is_checked_first(tmp_path: Path) -> None:
    out = tmp_path / "s.yaml"
    files = _targets(out, need_split=True, need_general=True)
    assert {k: p.name for k, p in files.items()} == {
        "suite": "s.yaml", "train": "s-train.jsonl", "eval": "s-eval.jsonl", "general": "s-general.jsonl"}
    assert set(_targets(out, need_split=False, need_general=False)) == {"suite"}
    (tmp_path / "s-general.jsonl").write_text("")
    with pytest.raises(ConfigError, match=r"s-general\.jsonl: exists; harness init never overwrites"):
        _targets(out, need_split=False, need_general=True)
