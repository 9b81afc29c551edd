"""Whole-file template audit: 10,000 real conversations through a real tokenizer and its chat template.

Conversations: every record of ``realdata/instruct`` in Alpaca format (GSM8K
train, the Alpaca demo and samples: 8,674), the 151 Dolly records (their
prompts are pre-rendered Alpaca prompts, real findings), and two-turn
conversations chained from those pairs up to ``--n``. Tokenizer: Phi-3 mini
(default) or Mistral 7B v0.2, each with its own chat template.

The conversations are written to one JSONL file (``messages`` format) first;
both timings cover reading that file with ``load_records`` and auditing it.

``ours_s``: :func:`harness.audit.templates.audit_templates` (batched
``apply_chat_template`` calls, compiled template cached by transformers, batched
tokenization). ``anchor_s``: the same checks with the naive labeling a
straightforward implementation would do: one record at a time, a fresh Jinja
compilation of the template per record, one tokenizer call per record.
``identical``: both give the same findings.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench._planted_data import realdata_dir

TOKENIZERS = {"phi3": "phi-3-mini", "mistral": "mistral-7b-instruct-v0.2"}
ALPACA_FILES = ("gsm8k_train_alpaca_format.json", "alpaca_en_demo_999.json", "alpaca_tiny_100.json",
                "alpaca_sample102.json")


def conversations(n: int, seed: int = 0) -> list[Any]:
    from harness.data.loaders import load_records
    from harness.data.record import ASSISTANT, USER, Record, Turn

    base: list[Record] = []
    for name in ALPACA_FILES:
        base += load_records(realdata_dir() / "instruct" / name)
    with open(realdata_dir() / "instruct" / "dolly_151_alpaca_prompt.jsonl", encoding="utf-8") as fh:
        dolly = [json.loads(line) for line in fh if line.strip()]
    base += [Record(turns=(Turn(USER, d["prompt"]), Turn(ASSISTANT, d["answer"])), index=0,
                    source="dolly", format="messages") for d in dolly]
    rng = random.Random(seed)
    out = [Record(turns=r.turns, index=i, source=r.source, format=r.format) for i, r in enumerate(base[:n])]
    while len(out) < n:
        a, b = rng.sample(base, 2)
        out.append(Record(turns=a.turns + b.turns, index=len(out), source="chained", format="messages"))
    return out


def write_jsonl(records: Sequence[Any], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps({"messages": rec.messages}, ensure_ascii=False) + "\n")


def naive_labeler(tokenizer: Any, records: Sequence[Any]) -> list[Any]:
    """One record at a time, template compiled afresh for each, one tokenizer call each."""
    from transformers.utils.chat_template_utils import _compile_jinja_template

    from harness.data.labels import RenderError, label_record

    out: list[Any] = []
    for rec in records:
        _compile_jinja_template.cache_clear()
        try:
            out.append(label_record(tokenizer, rec))
        except RenderError as exc:
            out.append(exc)
    return out


def run(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="templates")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--tokenizer", choices=sorted(TOKENIZERS), default="phi3")
    parser.add_argument("--max-seq-len", type=int, default=1024)
    parser.add_argument("--no-anchor", action="store_true", help="skip the naive reference (slow)")
    args = parser.parse_args(argv)

    from harness.audit.templates import audit_templates
    from harness.data.loaders import load_records
    from harness.models import load_tokenizer

    tok, _, _ = load_tokenizer(realdata_dir() / "tokenizers" / TOKENIZERS[args.tokenizer])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "conversations.jsonl"
        write_jsonl(conversations(args.n), path)
        audit_templates(tok, load_records(path, limit=50), split="train", max_seq_len=args.max_seq_len)
        start = time.perf_counter()
        records = load_records(path)
        load_s = time.perf_counter() - start
        ours = audit_templates(tok, records, split="train", max_seq_len=args.max_seq_len)
        ours_s = time.perf_counter() - start
        if not args.no_anchor:
            start = time.perf_counter()
            anchor = audit_templates(tok, load_records(path), split="train", max_seq_len=args.max_seq_len,
                                     labeler=naive_labeler)
            anchor_s = time.perf_counter() - start
    result: dict[str, Any] = {
        "ours_s": round(ours_s, 3), "load_s": round(load_s, 3), "conversations": len(records),
        "turns": sum(len(r.turns) for r in records), "tokenizer": TOKENIZERS[args.tokenizer],
        "max_seq_len": args.max_seq_len, "findings": len(ours.findings),
        "by_check": dict(Counter(f.check for f in ours.findings)),
        "truncation_rate": ours.summary["truncation_rate"],
        "total_tokens_p50": ours.summary["total_tokens"].get("p50"),
        "conversations_per_s": round(len(records) / ours_s, 1),
    }
    if args.no_anchor:
        return {**result, "anchor_s": float("nan"), "ratio": float("nan"), "identical": False,
                "anchor": "skipped (--no-anchor)"}
    same = [f.model_dump() for f in ours.findings] == [f.model_dump() for f in anchor.findings]
    return {**result, "anchor_s": round(anchor_s, 3), "ratio": round(anchor_s / ours_s, 2),
            "identical": same and ours.summary["total_tokens"] == anchor.summary["total_tokens"],
            "anchor": "same checks, labels built one record at a time with a fresh Jinja compile per "
                      "record and one tokenizer call per record"}
