"""Hand-built result objects for tests that must not train or score a model."""

from __future__ import annotations

from typing import Any

from harness.results import LossPoint, TrialResult


def make_trial(name: str, r: int = 8, *, scale: float = 1.0, steps: int = 19, **fields: Any) -> TrialResult:
    """A finished trial of rank ``r`` (alpha 2r, all-linear, lr 0.01) whose loss curves are ``scale / step``
    shaped; any TrialResult field can be overridden."""
    values: dict[str, Any] = {
        "name": name,
        "config": {"r": r, "lora_alpha": 2 * r, "target_modules": "all-linear", "learning_rate": 0.01},
        "config_hash": "h" + name,
        "trainable_params": 1000 * r,
        "total_params": 300000,
        "trainable_share": 1000 * r / 300000,
        "train_loss": [LossPoint(step=s, loss=scale * 2.0 / s) for s in range(1, steps + 1)],
        "eval_loss": [LossPoint(step=s, loss=scale * 2.2 / s) for s in range(5, steps + 1, 5)],
        "steps": steps,
        "train_tokens": 5000,
        "tokens_per_s": 1000.0,
        "wall_s": 5.0,
        "step_s": 4.5,
        "peak_mem_bytes": 2**28,
        "peak_mem_kind": "rss",
        "adapter_path": "/tmp/x",
        "overfitting": False,
    }
    return TrialResult(**{**values, **fields})


def make_run(passed: bool, text: str = "plain text") -> tuple[Any, list[Any]]:
    """A scored run of candidate ``r8`` against the base on exact_match and general_perplexity, an audit
    (a leakage error when not ``passed``), gates (one fails when not ``passed``) and items whose prompts,
    references and outputs hold ``text``; returns (RunResults, items)."""
    from harness.results import (
        AuditResult,
        CheckRun,
        Comparison,
        Finding,
        GateResult,
        ItemScore,
        Ref,
        RunResults,
    )

    regressed = ["eval/1", "eval/2"]
    comps = [
        Comparison(metric="exact_match", base="base", candidate="r8", base_value=0.2, candidate_value=0.7,
                   delta=0.5, ci_low=0.3, ci_high=0.7, p_value=0.001, n=10, regressed=regressed,
                   improved=["eval/0", "eval/3"]),
        Comparison(metric="general_perplexity", base="base", candidate="r8", base_value=5.0,
                   candidate_value=90.0, delta=85.0, ci_low=60.0, ci_high=110.0, p_value=0.002, n=10,
                   higher_is_better=False),
        Comparison(metric="exact_match", base="base", candidate="r4", base_value=0.2, candidate_value=0.1,
                   delta=-0.1, ci_low=-0.3, ci_high=-0.05, p_value=0.04, n=10, regressed=["eval/0"]),
    ]
    gates = [GateResult(name="exact_match", expression="exact_match >= 0.5", passed=True, observed=0.7,
                        message="passed: exact_match = 0.7 (needs >= 0.5)")]
    gates.append(GateResult(name="general_perplexity", expression="general_perplexity.delta < 100",
                            passed=passed, observed=85.0 if passed else 120.0,
                            message="passed" if passed else f"failed: 120 (needs < 100) {text}"))
    leak = Finding(check="leakage", severity="error", message=f"eval row 3 leaks: {text}",
                   refs=[Ref(split="eval", index=3), Ref(split="train", index=9)])
    findings = [] if passed else [leak]
    findings.append(Finding(check="near_duplicates", severity="warning", message=f"2 rows: {text}"))
    audit = AuditResult(findings=findings, checks=[
        CheckRun(check="leakage", findings=len(findings) - 1), CheckRun(check="near_duplicates", findings=1),
        CheckRun(check="contamination", params={"skipped": "no benchmark given"})])
    results = RunResults(suite="unit", models={"base": {"exact_match": 0.2}, "r8": {"exact_match": 0.7}},
                         comparisons=comps, gates=gates, audit=audit, candidate="r8",
                         meta={"primary_metric": "exact_match"})
    items = [ItemScore(item_id=f"eval/{i}", model=m, prompt=f"prompt {i} {text}", reference=f"ref {i} {text}",
                       output=f"{m} says {i} {text}", scores={"exact_match": 1.0})
             for i in range(4) for m in ("base", "r8")]
    return results, items
