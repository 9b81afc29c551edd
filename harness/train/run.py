"""One QLoRA run: fresh LoRA weights on an already loaded (4-bit) base, trained by trl's SFTTrainer."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch

from harness.config import SweepConfig, TrialSpec
from harness.errors import ConfigError
from harness.io import sha256_text
from harness.models.loading import LoadedModel
from harness.models.quirks import disable_bnb_cpu_repack, quiet_peft_deprecations, restore_adapter_dtype
from harness.results import LossPoint, TrialResult
from harness.train.callbacks import NoFinalCheckpoint, RichSteps, StepTimer, plain_loss_trainer
from harness.train.memory import PeakMemory
from harness.train.tokenize import Tokenized

TRAINER_VERSION = "1"


@dataclass(frozen=True)
class TrialData:
    """The tokenized train and validation sets, built once per sweep."""

    train: Tokenized
    eval: Tokenized
    data_hash: str


def trial_hash(spec: TrialSpec, sweep: SweepConfig, data_hash: str, base_hash: str) -> str:
    """What identifies a trial's result: its config, the sweep settings, the data and the base."""
    settings = sweep.model_dump(include={"eval_every", "max_seq_len", "packing", "gradient_checkpointing"})
    payload = json.dumps(
        {"spec": spec.model_dump(), "settings": settings, "v": TRAINER_VERSION}, sort_keys=True, default=str
    )
    return sha256_text(payload, data_hash, base_hash)[:16]


def import_training_stack() -> None:
    """Import peft and trl's trainer now (about 1.3 s, once per process), not inside the first trial."""
    from peft import get_peft_model  # noqa: F401
    from trl import SFTConfig, SFTTrainer  # noqa: F401  (trl's top level is lazy: name them)


def lora_config(spec: TrialSpec, token_ids: list[int] | None = None) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        trainable_token_indices=token_ids or None,
        r=spec.r,
        lora_alpha=cast(int, spec.lora_alpha),  # peft annotates int; a float alpha works the same
        target_modules=spec.target_modules,
        lora_dropout=spec.lora_dropout,
        use_dora=spec.use_dora,
        bias="none",
        task_type="CAUSAL_LM",
    )


def sft_config(spec: TrialSpec, sweep: SweepConfig, out: Path, device: torch.device) -> Any:
    from trl import SFTConfig

    on_gpu = device.type == "cuda"
    checkpointing = on_gpu if sweep.gradient_checkpointing == "auto" else bool(sweep.gradient_checkpointing)
    return SFTConfig(
        output_dir=str(out / "checkpoints"),
        max_steps=spec.max_steps,
        per_device_train_batch_size=spec.batch_size,
        per_device_eval_batch_size=2 * spec.batch_size,  # no gradients kept: twice the rows fit
        learning_rate=spec.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=spec.warmup_ratio,  # a float in [0, 1) is a ratio in transformers 5
        weight_decay=spec.weight_decay,
        optim="paged_adamw_8bit" if on_gpu else "adamw_torch",
        bf16=on_gpu and torch.cuda.is_bf16_supported(),
        use_cpu=not on_gpu,
        activation_checkpointing=checkpointing,  # transformers 5 name of gradient checkpointing
        eval_strategy="steps",
        eval_steps=sweep.eval_every,
        save_strategy="steps",
        save_steps=sweep.eval_every,
        save_total_limit=1,
        logging_steps=max(1, min(10, spec.max_steps // 20)),
        seed=spec.seed,
        data_seed=spec.seed,
        report_to="none",
        disable_tqdm=True,
        max_length=sweep.max_seq_len,
        packing=sweep.packing,
        dataset_kwargs={"skip_prepare_dataset": True},
        dataloader_num_workers=0,
        include_num_input_tokens_seen="non_padding",
        prediction_loss_only=True,  # only eval_loss is read: do not gather logits (batch x seq x vocab)
    )


def train_trial(
    loaded: LoadedModel, spec: TrialSpec, sweep: SweepConfig, data: TrialData, out: Path, *, config_hash: str
) -> TrialResult:
    """Train one configuration on the loaded base, save its adapter, and restore the bare base."""
    from peft import get_peft_model
    from transformers import set_seed
    from trl import SFTTrainer

    out.mkdir(parents=True, exist_ok=True)
    set_seed(spec.seed)  # fresh LoRA init is drawn from this seed: same seed, same curve
    token_ids = _token_ids(loaded, spec)
    with quiet_peft_deprecations():
        peft_model = get_peft_model(loaded.model, lora_config(spec, token_ids))
    disable_bnb_cpu_repack(peft_model)
    trainable, total = _param_counts(peft_model)
    timer = StepTimer()
    trainer_cls = plain_loss_trainer() if token_ids else SFTTrainer
    trainer = trainer_cls(
        model=peft_model,
        args=sft_config(spec, sweep, out, loaded.device),
        train_dataset=data.train.dataset,
        eval_dataset=data.eval.dataset if data.eval.input_ids else None,
        processing_class=loaded.tokenizer,
        callbacks=[timer, NoFinalCheckpoint(), RichSteps(spec.label())],
    )
    # disable_tqdm makes transformers print raw log dicts to stdout; stdout belongs to the caller.
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)
    restore_adapter_dtype(peft_model, loaded.device)
    last = resumable_checkpoint(out / "checkpoints")
    resumed = int(Path(last).name.split("-")[-1]) if last else 0
    start = time.perf_counter()
    try:
        with PeakMemory() as mem:
            trainer.train(resume_from_checkpoint=last)
        wall = time.perf_counter() - start
        adapter_dir = out / "adapter"
        # A cloned template's resized embeddings are rebuilt exactly by load_base (mean-initialized
        # rows), and their trained rows are the adapter's trainable tokens: peft need not save a
        # full copy of the embedding matrix with every adapter.
        embeddings = "auto" if loaded.clone is None else False
        peft_model.save_pretrained(str(adapter_dir), save_embedding_layers=embeddings)
        history = trainer.state.log_history
        tokens = int(getattr(trainer.state, "num_input_tokens_seen", 0) or 0)
    finally:
        # Give the base back without LoRA layers so the next trial starts from it, untouched.
        loaded.model = peft_model.unload()
        del trainer
    train_curve = [LossPoint(step=h["step"], loss=h["loss"]) for h in history if "loss" in h]
    eval_curve = [LossPoint(step=h["step"], loss=h["eval_loss"]) for h in history if "eval_loss" in h]
    return TrialResult(
        name=spec.label(),
        config=spec.model_dump(),
        config_hash=config_hash,
        trainable_params=trainable,
        total_params=total,
        trainable_share=trainable / max(total, 1),
        train_loss=train_curve,
        eval_loss=eval_curve,
        steps=spec.max_steps,
        train_tokens=tokens,
        tokens_per_s=tokens / timer.step_s if timer.step_s else 0.0,
        wall_s=wall,
        step_s=timer.step_s,
        peak_mem_bytes=mem.peak,
        peak_mem_kind="cuda" if mem.kind == "cuda" else "rss",
        adapter_path=str(adapter_dir),
        overfitting=is_overfitting(train_curve, eval_curve),
        resumed_from_step=resumed,
    )


CHECKPOINT_FILES = ("trainer_state.json", "adapter_model.safetensors", "optimizer.pt", "scheduler.pt")


def resumable_checkpoint(folder: Path) -> str | None:
    """The newest complete checkpoint; ones a kill left half-written are removed, not resumed."""
    import shutil

    if not folder.is_dir():
        return None
    found = sorted(
        (p for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()),
        key=lambda p: int(p.name.split("-")[-1]),
        reverse=True,
    )
    for ckpt in found:
        if all((ckpt / name).is_file() for name in CHECKPOINT_FILES):
            return str(ckpt)
        shutil.rmtree(ckpt, ignore_errors=True)
    return None


def _token_ids(loaded: LoadedModel, spec: TrialSpec) -> list[int]:
    """Vocabulary ids of ``spec.trainable_tokens`` (tokens whose embedding rows are trained), plus
    the tokens a cloned chat template added: their rows are new and must be learned."""
    ids = list(loaded.clone.added) if loaded.clone is not None else []
    unk = loaded.tokenizer.unk_token_id
    for token in spec.trainable_tokens:
        tid = loaded.tokenizer.convert_tokens_to_ids(token)
        if tid is None or (tid == unk and token != loaded.tokenizer.unk_token):
            raise ConfigError(
                f"trainable token {token!r} is not in the tokenizer's vocabulary",
                key="sweep.trainable_tokens",
            )
        ids.append(int(tid))
    return list(dict.fromkeys(ids))  # order kept: it is the order of peft's trainable rows


def _param_counts(model: Any) -> tuple[int, int]:
    trainable, total = model.get_nb_trainable_parameters()
    return int(trainable), int(total)


def is_overfitting(train: list[LossPoint], val: list[LossPoint], tolerance: float = 0.01) -> bool:
    """Validation loss rose (by more than ``tolerance``, relative) after its minimum while train loss fell."""
    if len(val) < 3 or len(train) < 2:
        return False
    best = min(range(len(val)), key=lambda i: val[i].loss)
    if best == len(val) - 1 or val[-1].loss <= val[best].loss * (1 + tolerance):
        return False
    at_best = [p.loss for p in train if p.step <= val[best].step]
    return bool(at_best) and train[-1].loss < at_best[-1]
