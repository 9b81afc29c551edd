"""MMLU loglikelihood scoring: ours (lm-eval over our loaded model) vs lm-eval's HFLM called directly.

Both sides score the same items (``--subjects`` MMLU subjects x the first
``--limit`` test rows each, zero-shot, from the original CSV layout) with the
same batch size and the same float32 weights (``load_in_4bit`` off on our side,
since lm-eval's own HFLM loads float32):

* **ours**: :func:`harness.models.load_base` + :func:`harness.score.mmlu.run_mmlu`
  (tasks built from the CSVs in memory with lm-eval's MMLU template,
  ``lm_eval.simple_evaluate`` with an ``HFLM`` around our model);
* **anchor**: what a user writes: ``HFLM(pretrained=<model folder>)`` and
  ``simple_evaluate`` on lm-eval's *own* ``mmlu_<subject>.yaml`` configs, with the
  dataset pointed at JSONL files converted from the same CSVs (conversion untimed).
  Its task registry is built with ``include_defaults=False``: indexing lm-eval's
  ~15k built-in task files (about 15 s here) is left out of the anchor's time.

Each side's time includes loading the model and building the tasks. ``ratio`` is
anchor time / ours (requests/s ours / requests/s anchor); ``identical`` is True
when every item's acc and chosen letter agree. Best of ``--repeats`` timed runs,
alternating, after one untimed warm-up of each side (imports, first calls).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._planted_data import realdata_dir

REPO = Path(__file__).resolve().parents[1]


def _args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench loglik")
    p.add_argument("--data", default=str(realdata_dir() / "mmlu"), help="MMLU folder (test/, dev/)")
    p.add_argument("--model", default=str(REPO / "suites" / "demo" / "model"))
    p.add_argument("--subjects", type=int, default=10)
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (both sides)")
    return p.parse_args(argv)


def _jsonl(data: Path, subject: str, out: Path) -> dict[str, str]:
    files = {}
    for split in ("test", "dev"):
        target = out / f"{subject}_{split}.jsonl"
        with open(data / split / f"{subject}_{split}.csv", newline="", encoding="utf-8") as fh:
            target.write_text("".join(
                json.dumps({"question": r[0], "subject": subject, "choices": r[1:5],
                            "answer": "ABCD".index(r[5])}) + "\n" for r in csv.reader(fh)), encoding="utf-8")
        files[split] = str(target)
    return files


Outcomes = dict[tuple[str, int], tuple[float, int]]  # (subject, row) -> (acc, chosen letter)


def _anchor(model: str, configs: list[dict[str, Any]], limit: int, batch: int) -> Outcomes:
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    lm = HFLM(pretrained=model, batch_size=batch, device="cpu")
    out = lm_eval.simple_evaluate(model=lm, tasks=[dict(c) for c in configs], limit=limit, log_samples=True,
                                  bootstrap_iters=0, task_manager=TaskManager(include_defaults=False))
    assert out is not None
    found: Outcomes = {}
    for name, samples in out["samples"].items():
        for s in samples:
            lls = [r[0] for r in s["filtered_resps"]]
            found[(name.removeprefix("mmlu_"), int(s["doc_id"]))] = (float(s["acc"]), lls.index(max(lls)))
    return found


def _ours(model: str, data: Path, subjects: list[str], limit: int, batch: int) -> Outcomes:
    from harness.models import load_base
    from harness.score.mmlu import run_mmlu

    loaded = load_base(model, load_in_4bit=False)
    wanted = {s: list(range(limit)) for s in subjects}
    got = run_mmlu(loaded.model, loaded.tokenizer, data, wanted, batch_size=batch)
    return {k: (v.acc, v.pred) for k, v in got.items()}


def run(argv: list[str]) -> dict[str, Any]:
    args = _args(argv)
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import lm_eval.tasks
    import torch
    from lm_eval.tasks._yaml_loader import load_yaml

    from harness.score.mmlu import list_subjects, load_items

    torch.set_num_threads(args.threads)
    data = Path(args.data)
    subjects = list_subjects(data)[: args.subjects]
    items = load_items(data, subjects, args.limit)
    requests = 4 * len(items)
    folder = Path(lm_eval.tasks.__file__).parent / "mmlu" / "default"
    with tempfile.TemporaryDirectory() as tmp:
        configs = []
        for s in subjects:
            cfg = load_yaml(folder / f"mmlu_{s}.yaml")
            cfg.pop("tag", None)
            cfg.update(dataset_path="json", dataset_name=None,
                       dataset_kwargs={"data_files": _jsonl(data, s, Path(tmp))})
            configs.append(cfg)
        _anchor(args.model, configs[:1], 2, args.batch_size)  # warm-up: imports, first calls
        _ours(args.model, data, subjects[:1], 2, args.batch_size)
        ours_runs, anchor_runs = [], []
        for _ in range(args.repeats):
            t = time.perf_counter()
            ours = _ours(args.model, data, subjects, args.limit, args.batch_size)
            ours_runs.append(time.perf_counter() - t)
            t = time.perf_counter()
            anchor = _anchor(args.model, configs, args.limit, args.batch_size)
            anchor_runs.append(time.perf_counter() - t)
    ours_s, anchor_s = min(ours_runs), min(anchor_runs)
    acc_ours = 100 * sum(v[0] for v in ours.values()) / len(ours)
    acc_anchor = 100 * sum(v[0] for v in anchor.values()) / len(anchor)
    return {
        "ours_s": ours_s, "anchor_s": anchor_s, "ratio": anchor_s / ours_s,
        "identical": ours == anchor and len(ours) == len(items),
        "ours_requests_per_s": requests / ours_s, "anchor_requests_per_s": requests / anchor_s,
        "requests": requests, "items": len(items), "subjects": len(subjects), "limit": args.limit,
        "batch_size": args.batch_size, "acc_ours": acc_ours, "acc_anchor": acc_anchor,
        "ours_runs_s": ours_runs, "anchor_runs_s": anchor_runs, "torch_threads": args.threads,
    }
