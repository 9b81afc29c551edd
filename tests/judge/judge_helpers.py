"""Helpers for the judge tests: real Alpaca items, the planted fake key, judges pointed at a loopback."""

from __future__ import annotations

import json
from pathlib import Path

from harness.judge import JudgeConfig, JudgeItem
from harness.testing.loopback import LoopbackJudge

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "judge"
FAKE_KEY = "sk-test-PLANTED-7f3a9c2e1b8d4f60"
KEY_ENV = "HARNESS_TEST_JUDGE_KEY"


def alpaca_rows() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = json.loads((FIXTURES / "alpaca_tiny_24.json").read_text(encoding="utf-8"))
    return rows


def make_items(n: int = 24) -> list[JudgeItem]:
    """Real Alpaca prompts and answers: "ft" has the whole answer, "base" its first 40 characters (or,
    when the answer is no longer than that, a shrug), so the two always differ.

    Each prompt starts with ``ITEM-<i>`` so that the loopback server can count requests per item.
    """
    items = []
    for i, row in enumerate(alpaca_rows()[:n]):
        prompt = f"ITEM-{i}: {row['instruction']}" + (f"\n\n{row['input']}" if row["input"] else "")
        items.append(JudgeItem(item_id=str(i), prompt=prompt, reference=row["output"],
                               outputs={"base": base_output(row["output"]), "ft": row["output"]}))
    return items


def base_output(answer: str) -> str:
    return answer[:40] if len(answer) > 40 else "I am not sure."


def judge(server: LoopbackJudge, backend: str = "openai", **overrides: object) -> JudgeConfig:
    """A judge pointed at ``server`` through the official SDK of ``backend``."""
    url = server.openai_base_url if backend == "openai" else server.anthropic_base_url
    fields: dict[str, object] = {"name": f"{backend}-judge", "backend": backend, "model": "judge-model",
                                 "rubric": "helpfulness", "base_url": url, "api_key_env": KEY_ENV}
    fields.update(overrides)
    return JudgeConfig.model_validate(fields)
