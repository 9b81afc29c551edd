"""Score the base and every adapter on the same held-out items, in one process, on one base load.

Which metrics exist, what each reads, how it is aggregated and compared, and the
``score.metrics`` selector that yields it: the metric registry
(:mod:`harness.score.metrics`; the built-ins are in :mod:`harness.score.metrics.builtin`,
users add their own with ``@harness.metric``). Generation (batched, greedy unless the
suite samples, through the chat template with the generation prompt, ``max_new_tokens``
from the suite, cut at the stop tokens) runs once per model when any metric that reads
the output is selected. An eval item whose prompt the template refuses is scored on an
empty output, with the reason in ``items.jsonl``. Metrics are recomputed from the
(cached) outputs on every run, so a changed metric never reads stale scores; a user's
metric's code is in ``hashes`` (``metric:<name>``: ``module:function@sha256``).

Every metric is compared, base vs each adapter, on the same items
(:mod:`harness.score.compare`). Per-item results are cached
(:mod:`harness.score.cache`) under the hashes of the base weights, quantization,
tokenizer + template, adapter weights, computation settings, item content and
:data:`SCORER_VERSION`: a rerun with unchanged weights runs no forward pass, and a
changed adapter recomputes only its own items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from harness.audit.template_parity import template_hash
from harness.config import SuiteConfig
from harness.errors import ConfigError
from harness.io import sha256_text
from harness.models.loading import LoadedModel
from harness.progress import summary
from harness.results import Comparison, Evaluation, ItemScore, RepeatRun
from harness.score.cache import ScoreCache
from harness.score.compare import ItemValues, aggregate, compare
from harness.score.generation import render_prompts, settings_for
from harness.score.jobs import SCORER_VERSION, Job, Values, generation_job, mmlu_job, nll_job, run_jobs
from harness.score.metrics import metric_registry
from harness.score.models import ModelPool, check_adapter_dir
from harness.score.perplexity import Prepared, prepare
from harness.score.plan import BASE, Identity, ScorePlan, adapter_hashes, identify, make_plan
from harness.score.scoring import ItemTable, score_items
from harness.score.template_checks import ScorerParity, prompt_parity, template_parity


@dataclass(frozen=True)
class Inputs:
    """Model-free preparation: rendered prompts and labeled sequences, with what could not be prepared."""

    prompts: dict[str, str]  # eval item id -> rendered prompt
    prompt_errors: dict[str, str]
    eval_nll: Prepared
    eval_nll_ids: list[str]
    general_nll: Prepared
    general_nll_ids: list[str]


@dataclass(frozen=True)
class RawRun:
    """Per-item raw results of every model (before metrics), and what producing them cost."""

    plan: ScorePlan
    inputs: Inputs
    raw: dict[str, dict[str, Values]]  # model -> kind ("gen", "nll-eval", ...) -> item id -> value
    forward_passes: dict[str, int]
    base_loads: int
    hashes: dict[str, str]
    parity: ScorerParity | None = None


def evaluate(suite: SuiteConfig, adapters: Mapping[str, str | Path], *,
             loaded: LoadedModel | None = None, cache_path: Path | None = None,
             progress: bool = True) -> Evaluation:
    """Score ``base`` and every adapter on the suite's held-out items; compare each adapter to the base.

    ``loaded``: a base already in memory (reused as is; adapters attached here are detached again
    at the end). When None, the base is loaded only if some result is not in the cache.
    ``cache_path``: the SQLite score cache (None, or ``score.cache: false``: no cache).
    """
    return summarize(suite, run_models(suite, adapters, loaded=loaded, cache_path=cache_path,
                                       progress=progress))


def run_models(suite: SuiteConfig, adapters: Mapping[str, str | Path], *,
               loaded: LoadedModel | None = None, cache_path: Path | None = None,
               progress: bool = True, include_base: bool = True) -> RawRun:
    """Raw per-item results of the base (unless ``include_base`` is False) and every adapter."""
    if BASE in adapters:
        raise ConfigError(f"an adapter cannot be named {BASE!r}: that name is the base model")
    paths = {name: check_adapter_dir(name, p) for name, p in adapters.items()}
    plan = make_plan(suite)
    ident = identify(suite, loaded)
    hashes = adapter_hashes(paths)
    inputs = prepare_inputs(plan, ident)
    parity = prompt_parity(plan, ident, inputs.prompts) if plan.generation else None
    jobs = build_jobs(suite, plan, ident, inputs, progress=progress)
    pool = ModelPool(suite, loaded, paths, hashes)
    store = ScoreCache(cache_path) if cache_path is not None and suite.score.cache else None
    names = [BASE, *paths] if include_base else list(paths)
    raw: dict[str, dict[str, Values]] = {}
    try:
        for name in names:
            model_key = ident.model(hashes.get(name, "none")).key
            raw[name] = run_jobs(name, model_key, jobs, pool, store)
    finally:
        pool.close()
        if store is not None:
            store.close()
    forward = {name: int(pool.forward[name]) for name in names}
    if progress:
        total, each = sum(forward.values()), ", ".join(f"{name} {n}" for name, n in forward.items())
        summary("score", f"{len(names)} models, " + (f"{total} forward passes ({each})" if total
                                                      else "every result from the cache"))
    hashes = evaluation_hashes(plan, ident, hashes, jobs)
    if parity is not None:
        hashes["template"] = template_hash(parity.template)
    return RawRun(plan, inputs, raw, forward, pool.loads, hashes, parity)


def summarize(suite: SuiteConfig, run: RawRun) -> Evaluation:
    """Metrics, comparisons (each adapter against the base) and item rows from raw results.

    With ``score.repeats`` > 1 the raw results hold one sampled generation per repeat
    (``gen``, ``gen@1``...). Each repeat is scored on its own (kept in ``repeats``, for
    the noise floor); the headline metrics are their means, and the comparisons pair
    each item's mean over the repeats (see :func:`mean_values`).
    """
    raws = split_repeats(run.raw)
    scored = [_score(run, raw) for raw in raws]
    items, values = scored[0]
    candidates = [name for name in run.raw if name != BASE]
    template = (template_parity(run.parity, raws[0], max_new_tokens=suite.score.max_new_tokens)
                if run.parity is not None else None)
    if len(scored) == 1:
        return Evaluation(models=_metrics(values), comparisons=_compare(suite, values, candidates),
                          items=items, forward_passes=dict(run.forward_passes), hashes=dict(run.hashes),
                          template=template)
    seeds = [suite.score.seed + k for k in range(len(scored))]
    repeats = [RepeatRun(seed=seed, models=_metrics(v), comparisons=_compare(suite, v, candidates))
               for seed, (_, v) in zip(seeds, scored, strict=True)]
    pooled = mean_values([v for _, v in scored])
    models = {name: {metric: float(sum(r.models[name][metric] for r in repeats) / len(repeats))
                     for metric in per} for name, per in repeats[0].models.items()}
    return Evaluation(models=models, comparisons=_compare(suite, pooled, candidates, pooled=True),
                      items=items, forward_passes=dict(run.forward_passes), hashes=dict(run.hashes),
                      repeats=repeats, template=template)


def _score(run: RawRun, raw: Mapping[str, Mapping[str, Values]]
           ) -> tuple[list[ItemScore], dict[str, dict[str, ItemValues]]]:
    plan, inputs = run.plan, run.inputs
    skipped = {**skipped_ids(inputs.eval_nll, plan, "eval"),
               **skipped_ids(inputs.general_nll, plan, "general")}
    return score_items(ItemTable(plan, inputs.prompts, inputs.prompt_errors, skipped), raw)


def _metrics(values: Mapping[str, Mapping[str, ItemValues]]) -> dict[str, dict[str, float]]:
    registry = metric_registry()
    return {name: {metric: aggregate(registry.get(metric), v) for metric, v in per.items()}
            for name, per in values.items()}


def _compare(suite: SuiteConfig, values: Mapping[str, Mapping[str, ItemValues]], candidates: Sequence[str],
             *, pooled: bool = False) -> list[Comparison]:
    return compare_all(suite, values, candidates, pooled=pooled) if BASE in values else []


def split_repeats(raw: Mapping[str, Mapping[str, Values]]) -> list[dict[str, dict[str, Values]]]:
    """One raw result per repeat: repeat k takes generation ``gen@k`` and shares every other kind."""
    count = 1 + max((int(kind.split("@")[1]) for kinds in raw.values() for kind in kinds if "@" in kind),
                    default=0)
    out = []
    for k in range(count):
        gen = "gen" if k == 0 else f"gen@{k}"
        out.append({name: {**{kind: v for kind, v in kinds.items() if "@" not in kind and kind != "gen"},
                           **({"gen": kinds[gen]} if gen in kinds else {})}
                    for name, kinds in raw.items()})
    return out


def mean_values(
    repeats: Sequence[Mapping[str, Mapping[str, ItemValues]]],
) -> dict[str, dict[str, ItemValues]]:
    """Each item's value averaged over the repeats (a binary metric becomes the item's success rate).

    Bootstrapping items over these means is the cluster bootstrap: an item, not an
    (item, repeat) pair, is the unit resampled, so repeats narrow the CI only as far
    as they average out sampling noise.
    """
    first = repeats[0]
    out: dict[str, dict[str, ItemValues]] = {}
    for name, per in first.items():
        out[name] = {}
        for metric, values in per.items():
            ids = [i for i in values.num if all(i in r[name][metric].num for r in repeats)]
            num = {i: sum(r[name][metric].num[i] for r in repeats) / len(repeats) for i in ids}
            den = {i: values.den[i] for i in ids} if values.den is not None else None
            out[name][metric] = ItemValues(num, den)
    return out


def prepare_inputs(plan: ScorePlan, ident: Identity) -> Inputs:
    prompts: dict[str, str] = {}
    errors: dict[str, str] = {}
    if plan.generation:
        rendered, failed = render_prompts(ident.tokenizer, plan.eval_records)
        prompts = {_eval_id(plan, p): text for p, text in rendered.items()}
        errors = {_eval_id(plan, p): why for p, why in failed.items()}
    empty = Prepared([], [], [], {})
    eval_nll = prepare(ident.tokenizer, plan.eval_records, plan.max_seq_len) if plan.perplexity else empty
    general_nll = (prepare(ident.tokenizer, plan.general_records, plan.max_seq_len)
                   if plan.perplexity and plan.general_records else empty)
    return Inputs(prompts, errors,
                  eval_nll, [_eval_id(plan, p) for p in eval_nll.positions],
                  general_nll, [f"general/{plan.general_records[p].index}" for p in general_nll.positions])


def _eval_id(plan: ScorePlan, position: int) -> str:
    return f"eval/{plan.eval_records[position].index}"


def skipped_ids(prep: Prepared, plan: ScorePlan, split: str) -> dict[str, str]:
    records = plan.eval_records if split == "eval" else plan.general_records
    return {f"{split}/{records[p].index}": why for p, why in prep.skipped.items()}


def build_jobs(suite: SuiteConfig, plan: ScorePlan, ident: Identity, inputs: Inputs, *,
               progress: bool) -> list[Job]:
    jobs: list[Job] = []
    batch = suite.score.batch_size
    if plan.generation and inputs.prompts:
        settings = settings_for(suite.score, ident.stop_token_ids)
        jobs.append(generation_job(inputs.prompts, settings, progress=progress))
        # score.repeats: the same prompts sampled again under seeds seed+1, seed+2... (the noise floor)
        for k in range(1, suite.score.repeats):
            seeded = replace(settings, seed=settings.seed + k)
            jobs.append(replace(generation_job(inputs.prompts, seeded, progress=progress), kind=f"gen@{k}"))
    if inputs.eval_nll_ids:
        jobs.append(nll_job("nll-eval", inputs.eval_nll, inputs.eval_nll_ids, max_len=plan.max_seq_len,
                            batch_size=batch, progress=progress))
    if inputs.general_nll_ids:
        jobs.append(nll_job("nll-general", inputs.general_nll, inputs.general_nll_ids,
                            max_len=plan.max_seq_len, batch_size=batch, progress=progress))
    if plan.mmlu_items and suite.score.mmlu is not None:
        jobs.append(mmlu_job(plan.mmlu_root, plan.mmlu_items, batch_size=suite.score.mmlu.batch_size,
                             num_fewshot=int(getattr(suite.score.mmlu, "num_fewshot", 0) or 0),
                             progress=progress))
    return jobs


def compare_all(suite: SuiteConfig, values: Mapping[str, Mapping[str, ItemValues]],
                candidates: Sequence[str], *, pooled: bool = False) -> list[Comparison]:
    """Every metric, base vs each candidate. ``pooled``: per-item means over sampled repeats, so
    generation metrics are no longer 0/1 and take the randomization test instead of McNemar's."""
    out: list[Comparison] = []
    registry = metric_registry()
    for cand in candidates:
        for metric, base_values in values[BASE].items():
            if metric not in values[cand]:
                continue
            spec = registry.get(metric)
            if pooled and spec.job == "generation":
                spec = replace(spec, binary=False)
            out.append(compare(spec, BASE, base_values, cand, values[cand][metric],
                               resamples=suite.score.bootstrap, confidence=suite.score.confidence))
    return out


def evaluation_hashes(plan: ScorePlan, ident: Identity, adapters: Mapping[str, str],
                      jobs: Sequence[Job]) -> dict[str, str]:
    out = {"base": ident.base_hash, "quantization": ident.quantization, "tokenizer": ident.tokenizer_hash,
           "scorer_version": SCORER_VERSION}
    out.update({f"adapter:{name}": h for name, h in adapters.items()})
    # A user's metric is not covered by SCORER_VERSION: its code's hash makes a baseline refuse a change.
    out.update({f"metric:{m.name}": m.identity for m in plan.metrics if not m.builtin})
    out["data:eval"] = sha256_text(*(r.content_hash for r in plan.eval_records))
    if plan.general_records:
        out["data:general"] = sha256_text(*(r.content_hash for r in plan.general_records))
    if plan.mmlu_items:
        out["data:mmlu"] = sha256_text(*(i.content_hash for i in plan.mmlu_items))
    for job in jobs:
        out[f"settings:{job.kind}"] = job.settings
        out[f"items:{job.kind}"] = sha256_text(*sorted(job.items.values()))
    return out


__all__ = ["SCORER_VERSION", "Evaluation", "RawRun", "evaluate", "mean_values", "run_models", "split_repeats",
           "summarize"]
