"""Fixtures for the scoring tests: the real tiny base (stories260k) in 4-bit, one torch thread."""

from __future__ import annotations

from typing import Any

import pytest
from score_support import MODEL


@pytest.fixture(scope="package", autouse=True)
def one_torch_thread() -> Any:
    """One intra-op thread while these tests run, restored afterwards.

    The model is tiny (260K parameters): its matmuls gain nothing from a second thread,
    and on a shared 2-core machine OpenMP spin-waiting made generation ~14x slower with
    two threads (18 s vs 1.3 s for the same 12 prompts, measured here).
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def loaded4() -> Any:
    """The real base in 4-bit NF4 (bitsandbytes on CPU), loaded once for the session."""
    from harness.models import load_base

    return load_base(MODEL, load_in_4bit=True, stop_token_ids=[1, 2])
