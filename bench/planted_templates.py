"""Planted-defect recall of the template audit on the Phi-3 mini and Mistral 7B v0.2 tokenizers.

Real (question, answer) pairs from ``realdata/instruct`` get one known defect
each (``harness.testing.template_planted``), at least ``--per-class`` records per
finding class per tokenizer; ``--clean`` defect-free conversations must get no
finding. Reports recall per class (overall and per tokenizer) and clean false
positives. There is no anchor tool for this measurement: ``anchor_s`` equals
``ours_s`` and ``ratio`` is 1.0 by construction (the ``anchor`` field says so);
``identical`` is the acceptance verdict (``identical_means``).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench._planted_data import realdata_dir

TOKENIZERS = {"phi3": "phi-3-mini", "mistral": "mistral-7b-instruct-v0.2"}


def real_pairs(limit_chars: int = 1200) -> tuple[list[tuple[str, str]], list[str]]:
    """Short (question, answer) pairs for planting, and long answers for truncation cases."""
    from harness.data.loaders import load_records

    records = load_records(realdata_dir() / "instruct" / "alpaca_en_demo_999.json")
    records += load_records(realdata_dir() / "instruct" / "gsm8k_train_alpaca_format.json", limit=600)
    pairs = [(r.prompt, r.response) for r in records
             if r.response.strip() and len(r.prompt) + len(r.response) < limit_chars]
    long_texts = [r.response for r in records if len(r.response) > 1500]
    return pairs, long_texts


def run(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="planted_templates")
    parser.add_argument("--per-class", type=int, default=20)
    parser.add_argument("--clean", type=int, default=300)
    parser.add_argument("--max-seq-len", type=int, default=1024)
    args = parser.parse_args(argv)

    from harness.models import load_tokenizer
    from harness.testing.template_planted import clean_records, load_templates, measure, planted_groups

    pairs, long_texts = real_pairs()
    templates = load_templates(realdata_dir() / "chat_templates")
    result: dict[str, Any] = {"per_tokenizer": {}}
    recall: dict[str, list[float]] = {}
    planted: dict[str, int] = {}
    false_positives = 0
    start = time.perf_counter()
    for family, folder in TOKENIZERS.items():
        tok, _, _ = load_tokenizer(realdata_dir() / "tokenizers" / folder)
        clean = clean_records(pairs, args.clean, system_ok=family == "phi3", seed=1)
        groups = planted_groups(tok, pairs, long_texts, args.per_class, family=family,
                                templates=templates, seed=2)
        report = measure(tok, clean, groups, max_seq_len=args.max_seq_len)
        result["per_tokenizer"][folder] = {
            "recall": report.recall, "planted": report.planted, "missed": report.missed,
            "clean": report.clean, "clean_false_positives": report.clean_false_positives,
            "clean_findings": report.clean_findings}
        false_positives += report.clean_false_positives
        for check, value in report.recall.items():
            recall.setdefault(check, []).append(value * report.planted[check])
            planted[check] = planted.get(check, 0) + report.planted[check]
    ours = time.perf_counter() - start
    overall = {c: round(sum(v) / planted[c], 4) for c, v in sorted(recall.items())}
    result.update({
        "ours_s": round(ours, 3), "anchor_s": round(ours, 3), "ratio": 1.0,
        "anchor": "none applies (no other tool measures this): anchor_s = ours_s, ratio = 1.0",
        "identical": all(v >= 0.95 for v in overall.values()) and false_positives == 0,
        "identical_means": "every class recall >= 0.95 and no finding on the clean conversations",
        "recall": overall, "min_recall": min(overall.values()), "planted": planted,
        "clean_conversations": args.clean * len(TOKENIZERS), "clean_false_positives": false_positives,
        "max_seq_len": args.max_seq_len,
    })
    return result
