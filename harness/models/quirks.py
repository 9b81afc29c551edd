"""Backend quirks, in one place, each with the reason it exists."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import torch


def disable_bnb_cpu_repack(model: torch.nn.Module) -> int:
    """Turn off bitsandbytes' AVX512-BF16 CPU repacking on every ``Linear4bit``.

    bitsandbytes 0.50 repacks 4-bit weights for CPU inference when the CPU has
    AVX512-BF16, and that path asserts ``N must be divisible by block_n`` on
    layer sizes that are not multiples of its blocks (stories260k's MLP is 172
    wide). The plain dequantize path is correct for every shape. Returns how
    many modules were switched.
    """
    try:
        from bitsandbytes.nn import Linear4bit
    except ImportError:  # no bitsandbytes: nothing is quantized, nothing to fix
        return 0
    count = 0
    for module in model.modules():
        if isinstance(module, Linear4bit) and getattr(module, "support_avx512bf16_for_cpu", False):
            module.support_avx512bf16_for_cpu = False
            count += 1
    return count


def best_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def compute_dtype(device: torch.device) -> torch.dtype:
    """bf16 on a GPU that supports it; float32 on CPU (bf16 matmuls are slow or missing there)."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def restore_adapter_dtype(model: torch.nn.Module, device: torch.device) -> int:
    """Put trainable (LoRA) weights back in float32 on CPU after ``SFTTrainer.__init__``.

    trl casts QLoRA adapter weights to bf16 (the QLoRA paper's GPU recipe). On a
    CPU without native bf16 matmuls that makes every step about five times
    slower, so on CPU we train adapters in float32. On GPU trl's choice stands.
    The optimizer is created later, in ``train()``, so it sees the float32 tensors.
    """
    if device.type != "cpu":
        return 0
    count = 0
    for param in model.parameters():
        if param.requires_grad and param.dtype != torch.float32:
            param.data = param.data.to(torch.float32)
            count += 1
    return count


@contextmanager
def quiet_peft_deprecations() -> Iterator[None]:
    """Hide transformers 5's ``is_gradient_checkpointing`` FutureWarning, raised from peft's own code.

    peft reads the deprecated property on every ``get_peft_model``/``from_pretrained``:
    one warning per trial and adapter that users can do nothing about. Only that
    message is silenced, and only inside the block.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*is_gradient_checkpointing", category=FutureWarning)
        yield
