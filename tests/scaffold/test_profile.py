"""Task shapes from targets: JSON objects, short labels, free text."""

from __future__ import annotations

import json
from pathlib import Path

from harness.data import load_records
from harness.scaffold.profile import common_keys, profile, task_shape

ROOT = Path(__file__).resolve().parents[2]


def test_json_targets_give_the_keys_most_objects_have() -> None:
    targets = [json.dumps({"name": f"n{i}", "mood": "sad", **({"extra": 1} if i == 0 else {})})
               for i in range(20)]
    shape, keys, labels = task_shape(targets)
    assert (shape, keys, labels) == ("json", ("name", "mood"), ())
    assert common_keys([{"a": 1, "b": 2}, {"b": 3}], share=1.0) == ("b",)


def test_short_labels_and_free_text() -> None:
    assert task_shape(["Positive", "Negative", "Positive", "Neutral"]) == (
        "labels", (), ("Positive", "Negative", "Neutral"))
    long = ["This is a long answer with many words in it, more than a label."] * 3
    assert task_shape(long)[0] == "free_text"
    assert task_shape([str(i) for i in range(30)])[0] == "free_text"  # too many distinct labels
    assert task_shape(["", "  "])[0] == "free_text"


def test_profile_of_the_demo_and_a_real_alpaca_file() -> None:
    demo = profile(load_records(ROOT / "suites" / "demo" / "train.jsonl"))
    assert (demo.format, demo.rows, demo.shape, demo.json_keys) == ("alpaca", 602, "json", ("name", "mood"))
    assert "JSON objects with keys name, mood" in demo.describe()
    alpaca = profile(load_records(ROOT / "tests" / "fixtures" / "audit" / "alpaca_en_demo_200.json"))
    assert (alpaca.shape, alpaca.rows) == ("free_text", 200) and alpaca.median_target_words > 50
