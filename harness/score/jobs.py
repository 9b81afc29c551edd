"""Per-item computations (generate, token NLL, MMLU), each cached under a key of what produced it.

A :class:`Job` is one kind of per-item result for one model: the items (id ->
content hash), the settings that change the result, and the function that
computes missing items on the active model. :func:`run_jobs` looks every item
up in the cache first and activates (and, if need be, loads) the model only
for what is missing, then stores the new results in one transaction per job.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.io import sha256_text
from harness.models.loading import LoadedModel
from harness.score.cache import ScoreCache, entry_key, settings_hash
from harness.score.generation import GenerationSettings, generate_outputs, generation_settings_key
from harness.score.mmlu import MMLUItem, prompt_hash, run_mmlu
from harness.score.models import ModelPool
from harness.score.perplexity import Prepared, score_prepared

SCORER_VERSION = "1"

Values = dict[str, dict[str, Any]]  # item id -> JSON-able result
Compute = Callable[[LoadedModel, list[str]], Values]


@dataclass(frozen=True)
class Job:
    kind: str
    settings: str
    items: Mapping[str, str]  # item id -> content hash
    compute: Compute
    cacheable: bool = True


def generation_job(prompts: Mapping[str, str], settings: GenerationSettings, *, progress: bool) -> Job:
    def compute(lm: LoadedModel, ids: list[str]) -> Values:
        outs = generate_outputs(lm.model, lm.tokenizer, [prompts[i] for i in ids], settings,
                                progress=progress, label="generate")
        return {i: {"output": g.text, "stop": g.stop, "new_tokens": g.new_tokens}
                for i, g in zip(ids, outs, strict=True)}

    return Job("gen", generation_settings_key(settings), {i: sha256_text(p) for i, p in prompts.items()},
               compute, cacheable=settings.cacheable)


def nll_job(kind: str, prep: Prepared, ids: Sequence[str], *, max_len: int, batch_size: int,
            progress: bool) -> Job:
    """Token NLL of prepared sequences; ``ids[k]`` names ``prep``'s k-th sequence."""
    index = {item: k for k, item in enumerate(ids)}

    def compute(lm: LoadedModel, wanted: list[str]) -> Values:
        pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0
        scores = score_prepared(lm.model, prep, [index[i] for i in wanted], pad_id=pad,
                                batch_size=batch_size, progress=progress, label=kind)
        return {ids[k]: {"nll": s.nll, "tokens": s.tokens} for k, s in scores.items()}

    items = {item: sha256_text(json.dumps([prep.input_ids[k], prep.labels[k]])) for k, item in enumerate(ids)}
    # Batch size is in the key: padding changes float sums in the last digits.
    return Job(kind, settings_hash({"max_len": max_len, "batch_size": batch_size, "loss": "ce-sum"}),
               items, compute)


def mmlu_job(root: Any, items: Sequence[MMLUItem], *, batch_size: int, num_fewshot: int,
             progress: bool) -> Job:
    by_id = {item.item_id: item for item in items}

    def compute(lm: LoadedModel, ids: list[str]) -> Values:
        wanted: dict[str, list[int]] = {}
        for i in ids:
            wanted.setdefault(by_id[i].subject, []).append(by_id[i].index)
        found = run_mmlu(lm.model, lm.tokenizer, root, wanted, batch_size=batch_size,
                         num_fewshot=num_fewshot, progress=progress)
        return {i: {"acc": found[(by_id[i].subject, by_id[i].index)].acc,
                    "pred": found[(by_id[i].subject, by_id[i].index)].pred} for i in ids}

    settings = settings_hash({"prompt": prompt_hash(num_fewshot), "batch_size": batch_size})
    return Job("mmlu", settings, {i: it.content_hash for i, it in by_id.items()}, compute)


def run_jobs(name: str, model_key: str, jobs: Sequence[Job], pool: ModelPool,
             store: ScoreCache | None) -> dict[str, Values]:
    """Every job's values for model ``name``: cached where possible, computed (and stored) otherwise.

    Items with the same content share one key, so they are computed once and share the value:
    a cold run and a warm rerun then agree bit for bit (two copies of one item scored in
    different batches could differ in the last float digits).
    """
    results: dict[str, Values] = {}
    pending: list[tuple[Job, dict[str, str]]] = []
    for job in jobs:
        keys = {i: entry_key(model_key, job.kind, job.settings, h, SCORER_VERSION)
                for i, h in job.items.items()}
        cached = store.get_many(sorted(set(keys.values()))) if store is not None and job.cacheable else {}
        results[job.kind] = {i: cached[k] for i, k in keys.items() if k in cached}
        if len(results[job.kind]) < len(keys):
            pending.append((job, keys))
    if not pending:
        return results
    with pool.active(name) as lm:
        for job, keys in pending:
            first: dict[str, str] = {}  # key -> the one item computed for it
            for i, k in keys.items():
                if i not in results[job.kind]:
                    first.setdefault(k, i)
            values = job.compute(lm, list(first.values()))
            by_key = {k: values[i] for k, i in first.items()}
            results[job.kind].update({i: by_key[k] for i, k in keys.items() if k in by_key})
            if store is not None and job.cacheable:
                store.put_many(model_key, job.kind, list(by_key.items()))
    return results


__all__ = ["SCORER_VERSION", "Job", "generation_job", "mmlu_job", "nll_job", "run_jobs"]
