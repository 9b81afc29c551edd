"""Trainer callbacks: bare step time (for overhead accounting) and loss curves."""

from __future__ import annotations

import time
from typing import Any

from transformers import TrainerCallback


class StepTimer(TrainerCallback):
    """Sums the wall time spent inside training steps, and records the loss curves."""

    def __init__(self) -> None:
        self.step_s = 0.0
        self._t0: float | None = None
        self.train_loss: list[tuple[int, float]] = []
        self.eval_loss: list[tuple[int, float]] = []

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._t0 = time.perf_counter()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._t0 is not None:
            self.step_s += time.perf_counter() - self._t0
            self._t0 = None

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kwargs: Any
    ) -> None:
        logs = logs or {}
        if "loss" in logs:
            self.train_loss.append((state.global_step, float(logs["loss"])))
        if "eval_loss" in logs:
            self.eval_loss.append((state.global_step, float(logs["eval_loss"])))


class NoFinalCheckpoint(TrainerCallback):
    """Skip the checkpoint transformers writes after the last step.

    Checkpoints exist to resume a killed trial; a finished trial saves its
    adapter and ``trial.json`` instead, so the final optimizer and scheduler
    state would be written only to be ignored (about 0.2 s and the adapter's
    size again on disk, per trial). Runs after ``DefaultFlowCallback``.
    """

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if state.global_step >= state.max_steps:
            control.should_save = False
        return control


def plain_loss_trainer() -> type:
    """An SFTTrainer that computes the loss through the model's own forward.

    trl's fused LM-head loss reads ``lm_head.weight`` directly, which bypasses
    peft's trainable-token wrapper on a tied head (and fails on its missing
    ``bias``). With trainable tokens we take transformers' standard loss: the
    same masked cross-entropy, through the wrapped modules.
    """
    from transformers import Trainer
    from trl import SFTTrainer

    class PlainLossSFTTrainer(SFTTrainer):
        def compute_loss(
            self, model: Any, inputs: Any, return_outputs: bool = False, num_items_in_batch: Any = None
        ) -> Any:
            return Trainer.compute_loss(
                self, model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
            )

    return PlainLossSFTTrainer


class RichSteps(TrainerCallback):
    """Training steps on the harness's progress display (instead of transformers' stdout printer)."""

    def __init__(self, label: str, enabled: bool = True) -> None:
        from harness.progress import progress_bar

        self._bar = progress_bar(enabled)
        self._label = label
        self._task: Any = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._bar.start()
        self._task = self._bar.add_task(
            f"train {self._label}", total=state.max_steps, completed=state.global_step
        )

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._bar.update(self._task, completed=state.global_step)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._bar.stop()
