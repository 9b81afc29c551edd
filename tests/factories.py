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
