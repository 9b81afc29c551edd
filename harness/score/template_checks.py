"""The scorer's template parity: its own prompts against training's ids, and how each model's answers ended.

The checks themselves are :mod:`harness.audit.template_parity`'s; this module feeds
them what the scorer really uses (its tokenizer, its rendered prompt strings, its stop
tokens) and turns the generations into per-model stop figures for ``results.json``
``template``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.audit.template_parity import ParityRun, describe_template, generation_parity, stop_stats
from harness.results import TemplateInfo, TemplateParity
from harness.score.plan import Identity, ScorePlan

GEN = "gen"


@dataclass(frozen=True)
class ScorerParity:
    """The template the scorer used and what the prompt checks found (before any generation)."""

    template: TemplateInfo
    run: ParityRun


def prompt_parity(plan: ScorePlan, ident: Identity, prompts: Mapping[str, str]) -> ScorerParity:
    """Check the scorer's prompts (item id -> rendered text) against training's renderings."""
    by_position = {pos: prompts[f"eval/{rec.index}"] for pos, rec in enumerate(plan.eval_records)
                   if f"eval/{rec.index}" in prompts}
    run = generation_parity(ident.tokenizer, plan.eval_records, stop_token_ids=ident.stop_token_ids,
                            prompts=by_position)
    info = describe_template(ident.tokenizer, source=ident.template_source, clone=ident.clone,
                             stop_token_ids=ident.stop_token_ids)
    return ScorerParity(info, run)


def template_parity(parity: ScorerParity, raw: Mapping[str, Mapping[str, Mapping[str, Mapping[str, object]]]],
                    *, max_new_tokens: int) -> TemplateParity:
    """The ``template`` section of results: parity findings plus every model's stop figures."""
    stops = [stop_stats(name, kinds[GEN], end_of_turn_id=parity.template.end_of_turn_id,
                        max_new_tokens=max_new_tokens)
             for name, kinds in raw.items() if GEN in kinds]
    return TemplateParity(template=parity.template, compared=parity.run.compared, checks=parity.run.checks,
                          findings=parity.run.findings, stops=stops, examples=parity.run.examples)


__all__ = ["ScorerParity", "prompt_parity", "template_parity"]
