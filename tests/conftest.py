"""Shared fixtures: paths to the shipped real model and the tiny suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
DEMO_MODEL = ROOT / "suites" / "demo" / "model"
TINY_SUITE = FIXTURES / "tiny" / "suite.yaml"


@pytest.fixture(scope="session")
def demo_model_path() -> Path:
    return DEMO_MODEL


@pytest.fixture(scope="session")
def tiny_suite_path() -> Path:
    return TINY_SUITE
