"""Benchmark ``judge``: pointwise judgements against the loopback server, concurrent vs sequential.

200 real Alpaca prompts and answers (``realdata/instruct/alpaca_en_demo_999.json``)
are judged with the ``helpfulness`` rubric through the official OpenAI SDK,
against a loopback server that takes 200 ms per answer. The anchor is the same
run with concurrency 1 (sequential); ours is concurrency 8. ``identical``: both
runs give every item the same verdict. A third run on ours' warm cache must make
no request at all, counted at the server (``warm_requests``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile
import time
from pathlib import Path

from bench._planted_data import realdata_dir
from harness.judge import JudgeConfig, JudgeItem, JudgeReport, run_judges
from harness.testing.loopback import LoopbackJudge, scripted

DATA = realdata_dir() / "instruct" / "alpaca_en_demo_999.json"
KEY_ENV = "HARNESS_BENCH_JUDGE_KEY"
KEY = "sk-bench-not-a-real-key-0123456789"


def load_items(n: int) -> list[JudgeItem]:
    rows = json.loads(DATA.read_text(encoding="utf-8"))[:n]
    return [JudgeItem(item_id=str(i), prompt=f"ITEM-{i}: {r['instruction']}\n{r['input']}".strip(),
                      reference=r["output"], outputs={"ft": r["output"]}) for i, r in enumerate(rows)]


def timed(config: JudgeConfig, items: list[JudgeItem], cache: Path) -> tuple[float, JudgeReport]:
    start = time.perf_counter()
    report = run_judges([config], items, cache_path=cache, progress=False)
    return time.perf_counter() - start, report


def verdicts(report: JudgeReport) -> list[tuple[str, str, str, float | None]]:
    return [(v.item_id, v.model, v.status, v.score) for v in report.runs[0].verdicts]


def run(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="bench judge")
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    os.environ[KEY_ENV] = KEY
    items = load_items(args.items)
    with LoopbackJudge(scripted(), latency_s=args.latency, api_key=KEY) as server, \
            tempfile.TemporaryDirectory() as tmp:
        def config(concurrency: int) -> JudgeConfig:
            return JudgeConfig(name="bench", backend="openai", model="judge-model", rubric="helpfulness",
                               base_url=server.openai_base_url, api_key_env=KEY_ENV, concurrency=concurrency)

        timed(config(1), items[:1], Path(tmp) / "warmup.db")  # imports and connection setup, untimed
        counts = [server.request_count]
        anchor_s, sequential = timed(config(1), items, Path(tmp) / "sequential.db")
        counts.append(server.request_count)
        ours_s, concurrent = timed(config(args.concurrency), items, Path(tmp) / "concurrent.db")
        counts.append(server.request_count)
        warm_s, warm = timed(config(args.concurrency), items, Path(tmp) / "concurrent.db")
        counts.append(server.request_count)
    sequential_requests, concurrent_requests, warm_requests = (b - a for a, b in itertools.pairwise(counts))
    all_ok = all(v[2] == "ok" for v in verdicts(concurrent))
    return {
        "ours_s": round(ours_s, 3), "anchor_s": round(anchor_s, 3), "ratio": round(anchor_s / ours_s, 2),
        "identical": verdicts(sequential) == verdicts(concurrent) == verdicts(warm) and all_ok,
        "items": args.items, "latency_s": args.latency, "concurrency": args.concurrency,
        "sequential_requests": sequential_requests, "concurrent_requests": concurrent_requests,
        "warm_requests": warm_requests, "warm_s": round(warm_s, 3),
        "warm_cache_hits": warm.runs[0].cache_hits,
        "mean_score": concurrent.runs[0].scores["ft"].mean,
        "meets_target": anchor_s / ours_s >= 6 and warm_requests == 0,
    }
