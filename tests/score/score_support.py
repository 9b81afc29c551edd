"""Paths and a suite writer shared by the scoring tests (a uniquely named module, not ``conftest``:
another conftest.py higher up would shadow ``from conftest import``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# lm-eval and datasets must never try the hub in these tests.
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[2]
FIX = REPO / "tests" / "fixtures" / "score"
MODEL = REPO / "suites" / "demo" / "model"
ADAPTERS = {"partial": FIX / "adapter_partial", "good": FIX / "adapter_good"}

SCHEMA = {"type": "object", "required": ["name", "mood"],
          "properties": {"name": {"type": "string"}, "mood": {"type": "string"}}}


def write_suite(folder: Path, **score: Any) -> Path:
    """A suite over the fixtures with absolute paths; ``score`` overrides score keys."""
    import yaml

    settings: dict[str, Any] = {
        "max_new_tokens": 40, "batch_size": 12, "bootstrap": 200,
        "metrics": ["exact_match", "f1", "rouge_l", "json", "schema", "regex", "perplexity", "mmlu"],
        "json_keys": ["name", "mood"], "json_schema": SCHEMA, "regex": r"\{.*\}",
        "mmlu": {"path": str(FIX / "mmlu"), "limit": 3, "subjects": ["abstract_algebra", "formal_logic"],
                 "batch_size": 8},
    }
    settings.update(score)
    suite = {
        "name": "score-test",
        "base": {"path": str(MODEL), "load_in_4bit": True, "stop_token_ids": [1, 2]},
        "data": {"train": str(FIX / "eval.jsonl"), "eval": str(FIX / "eval.jsonl"),
                 "general": str(FIX / "general.jsonl")},
        "sweep": {"max_seq_len": 128},
        "score": settings,
    }
    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(suite), encoding="utf-8")
    return path
