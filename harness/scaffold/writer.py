"""The commented suite file ``harness init`` writes, from the decisions it made (:class:`SuitePlan`).

Every value that came from the user's files is written through :func:`_y` (YAML
quoting), and every comment says where a value came from, so the file reads as a
record of the choices as well as a suite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from harness.scaffold.profile import DataProfile

if TYPE_CHECKING:  # probe imports torch: not needed to write text
    from harness.scaffold.probe import Lengths


@dataclass(frozen=True)
class SweepPlan:
    trials: list[dict[str, Any]]
    defaults: dict[str, Any]
    eval_every: int
    note: str  # why this size


@dataclass(frozen=True)
class SuitePlan:
    """Everything the suite file says; paths are relative to the suite file."""

    name: str
    model: str
    template_note: str
    load_in_4bit: bool
    train: str
    eval: str
    general: str
    data_note: str  # the split, or that the user's eval file is used
    general_note: str
    profile: DataProfile
    lengths: Lengths
    metrics: list[str]
    primary: str
    primary_higher: bool
    sweep: SweepPlan
    canary: float
    canary_note: str
    untrained: list[str] = field(default_factory=list)
    judge_backends: list[str] = field(default_factory=list)


def _y(value: Any) -> str:
    """``value`` as one line of YAML (flow style, quoted where needed)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, allow_unicode=True,
                          sort_keys=False).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def _comment(text: str, indent: str = "") -> list[str]:
    return [f"{indent}# {line}".rstrip() for line in text.splitlines()]


def _base(plan: SuitePlan) -> list[str]:
    return [
        "base:",
        f"  path: {_y(plan.model)}",
        f"  load_in_4bit: {_y(plan.load_in_4bit)}         # QLoRA: NF4 + double quantization (bitsandbytes)",
        *_comment(plan.template_note, "  "),
        "  chat_template: null         # the tokenizer's own (none: the plain template); or a .jinja file",
        "  stop_token_ids: []          # the tokenizer's EOS is always a stop token",
        "",
    ]


def _data(plan: SuitePlan) -> list[str]:
    return [
        *_comment(f"{plan.profile.describe()}.\n{plan.data_note}"),
        "data:",
        f"  train: {_y(plan.train)}",
        f"  eval: {_y(plan.eval)}",
        *_comment(plan.general_note, "  "),
        f"  general: {_y(plan.general)}",
        "",
        "audit:",
        "  near_duplicate_threshold: 0.8",
        "  semantic: false             # true: paraphrase leakage too (extra 'semantic', MiniLM; slower)",
        "",
    ]


def _sweep(plan: SuitePlan) -> list[str]:
    longer = 100 * plan.lengths.truncated_share
    lines = [*_comment(plan.sweep.note), "sweep:", f"  max_seq_len: {plan.lengths.max_seq_len}"
             f"          # 99% of the training examples, within the model's context ({longer:.1f}% "
             "are longer: cut)",
             f"  eval_every: {plan.sweep.eval_every}", "  defaults:"]
    for key, value in plan.sweep.defaults.items():
        lines.append(f"    {key}: {_y(value)}")
    if plan.untrained:
        lines += _comment("The targets need tokens this base never learned (their embedding rows sit on\n"
                          "top of each other): their rows train too.", "    ")
        lines.append(f"    trainable_tokens: {_y(plan.untrained)}")
    lines.append("  trials:")
    lines += [f"    - {_y(t)}" for t in plan.sweep.trials]
    return [*lines, ""]


def _score(plan: SuitePlan) -> list[str]:
    lines = ["score:", f"  max_new_tokens: {plan.lengths.max_new_tokens}        # covers 95% of the targets",
             f"  metrics: {_y(plan.metrics)}"]
    if plan.profile.shape == "json":
        lines.append(f"  json_keys: {_y(list(plan.profile.json_keys))}  # keys 90% of the targets have")
    lines += [f"  primary_metric: {plan.primary}   # the candidate is the best adapter on it",
              "  select: best_passing", ""]
    return lines


def _gates(plan: SuitePlan) -> list[str]:
    p = plan.primary
    better = f"{p}.delta.ci_low > 0" if plan.primary_higher else f"{p}.delta.ci_high < 0"
    lines = ["gates:", f"  - {better}    # better than the base, with 95% confidence"]
    if plan.profile.shape == "json":
        lines.append("  - json_valid >= 0.9")
    elif plan.profile.shape == "labels":
        lines.append("  - exact_match >= 0.5")
    lines += [*_comment(plan.canary_note, "  "), f"  - general_perplexity.delta < {plan.canary:g}",
              "  - audit.leakage == 0         # no eval row leaks into train"]
    return [*lines, ""]


def _judge_stub(plan: SuitePlan) -> list[str]:
    if plan.profile.shape != "free_text":
        return []
    backends = ", ".join(plan.judge_backends)
    return [
        "# Free-text answers: an LLM judge says more than perplexity. Uncomment to use (keys come from the",
        "# environment, e.g. OPENAI_API_KEY), then gate on it, e.g. `- judge.helpful.win_rate >= 0.5`.",
        "# judges:",
        "#   - name: helpful",
        f"#     backend: openai          # one of: {backends}, or module:Class",
        "#     model: gpt-4o-mini",
        "#     rubric: pairwise         # judges/pairwise.yaml: base vs the candidate, both orders",
        "#     protocol: pairwise",
        "#     budget_usd: 1.0",
        "",
    ]


def suite_text(plan: SuitePlan) -> str:
    """The suite file's text."""
    data = f"{plan.profile.rows} rows of {plan.profile.format} data"
    head = [f"# Written by `harness init`: a suite for {data}.",
            "# Every path is relative to this file. Run it with: harness run <this file>", "",
            f"name: {_y(plan.name)}", ""]
    body = _base(plan) + _data(plan) + _sweep(plan) + _score(plan) + _judge_stub(plan) + _gates(plan)
    return "\n".join(head + body).rstrip() + "\n"


__all__ = ["SuitePlan", "SweepPlan", "suite_text"]
