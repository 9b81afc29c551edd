"""Real QLoRA sweeps on the shipped stories260k model (4-bit NF4 on CPU), tiny settings."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.results import LossPoint, SweepResult
from harness.suite import load_suite
from harness.train.run import is_overfitting
from harness.train.sweep import run_sweep

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def finished_sweep(
    tmp_path_factory: pytest.TempPathFactory, tiny_suite_path: Path
) -> tuple[Path, SweepResult]:
    out = tmp_path_factory.mktemp("sweep")
    return out, run_sweep(load_suite(tiny_suite_path), out)


def test_sweep_records_every_trial(finished_sweep: tuple[Path, SweepResult]) -> None:
    out, sweep = finished_sweep
    assert [t.name for t in sweep.trials] == ["a", "b"]
    a, b = sweep.trials
    # all-linear at r=8 trains far more parameters than q/v at r=4
    assert 0 < a.trainable_params < b.trainable_params
    assert 0 < a.trainable_share < 1
    for t in sweep.trials:
        assert t.steps == 16 and t.train_loss and t.eval_loss and t.train_tokens > 0
        assert t.train_loss[-1].loss < t.train_loss[0].loss  # it learned something
        assert t.tokens_per_s > 0 and t.wall_s >= t.step_s > 0 and t.peak_mem_bytes > 0
        assert t.adapter_path == f"trials/{t.name}/adapter"  # relative to the run folder
        assert (t.adapter_dir(out) / "adapter_config.json").is_file()
    saved = SweepResult.model_validate_json((out / "sweep.json").read_text())
    assert saved.trials == sweep.trials


def test_rerun_skips_finished_trials(finished_sweep: tuple[Path, SweepResult], tiny_suite_path: Path) -> None:
    out, first = finished_sweep
    again = run_sweep(load_suite(tiny_suite_path), out)
    assert again.skipped == ["a", "b"]
    assert again.trials == first.trials


def test_changed_config_retrains_only_that_trial(
    finished_sweep: tuple[Path, SweepResult], tiny_suite_path: Path, tmp_path: Path
) -> None:
    out, first = finished_sweep
    text = tiny_suite_path.read_text().replace("{name: b, r: 8,", "{name: b, r: 6,")
    suite_path = tiny_suite_path.parent / "suite_changed.yaml"
    suite_path.write_text(text)
    try:
        again = run_sweep(load_suite(suite_path), out)
    finally:
        suite_path.unlink()
    assert again.skipped == ["a"]
    assert again.trials[1].config["r"] == 6 and again.trials[1].config_hash != first.trials[1].config_hash


def test_sigkill_mid_trial_then_resume(
    tiny_suite_path: Path, tmp_path: Path, finished_sweep: tuple[Path, SweepResult]
) -> None:
    """Kill the sweep during trial b (after its first checkpoint); the rerun keeps a and resumes b."""
    _, reference = finished_sweep
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "sweep", str(tiny_suite_path), "--out", str(out), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    checkpoint = out / "trials" / "b" / "checkpoints" / "checkpoint-8"
    deadline = time.time() + 240
    while not (checkpoint / "trainer_state.json").is_file():
        assert proc.poll() is None, "sweep ended before it could be killed"
        assert time.time() < deadline, "no checkpoint in time"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "trials" / "b" / "trial.json").exists()
    a_before = (out / "trials" / "a" / "trial.json").read_bytes()

    resumed = run_sweep(load_suite(tiny_suite_path), out)
    assert resumed.skipped == ["a"]  # finished trial not re-run
    assert (out / "trials" / "a" / "trial.json").read_bytes() == a_before
    b = resumed.trials[1]
    assert b.resumed_from_step == 8
    # The resumed curve equals the uninterrupted one (same seed, same data order, RNG restored).
    ref_b = reference.trials[1]
    assert [p.step for p in b.train_loss] == [p.step for p in ref_b.train_loss]
    for got, want in zip(b.train_loss, ref_b.train_loss, strict=True):
        assert got.loss == pytest.approx(want.loss, rel=1e-4, abs=1e-5)
    assert json.loads((out / "sweep.json").read_text())["trials"][0]["name"] == "a"


def test_overfitting_flag() -> None:
    train = [LossPoint(step=s, loss=1.0 / s) for s in range(1, 11)]
    rising = [LossPoint(step=s, loss=v) for s, v in [(2, 0.9), (4, 0.7), (6, 0.8), (8, 0.95)]]
    falling = [LossPoint(step=s, loss=v) for s, v in [(2, 0.9), (4, 0.7), (6, 0.6), (8, 0.55)]]
    assert is_overfitting(train, rising)
    assert not is_overfitting(train, falling)


def test_half_written_checkpoint_is_not_resumed(tmp_path: Path) -> None:
    from harness.train.run import CHECKPOINT_FILES, resumable_checkpoint

    folder = tmp_path / "checkpoints"
    good, half = folder / "checkpoint-8", folder / "checkpoint-16"
    for ckpt in (good, half):
        ckpt.mkdir(parents=True)
    for name in CHECKPOINT_FILES:
        (good / name).write_text("x")
    (half / "trainer_state.json").write_text("x")  # killed while saving
    assert resumable_checkpoint(folder) == str(good)
    assert not half.exists()
    assert resumable_checkpoint(tmp_path / "none") is None


def test_merge_and_export_agrees_with_adapter(
    finished_sweep: tuple[Path, SweepResult], tmp_path: Path, tiny_suite_path: Path
) -> None:
    from transformers import AutoModelForCausalLM

    from harness.data import load_records
    from harness.train.merge import merge_adapter

    out, sweep = finished_sweep
    suite = load_suite(tiny_suite_path)
    sample = load_records(suite.resolve(suite.data.eval))[:6]
    check = merge_adapter(
        suite.resolve(suite.base.path),
        sweep.trials[1].adapter_dir(out),
        tmp_path / "merged",
        chat_template=None,
        stop_token_ids=[1, 2],
        sample=sample,
        max_new_tokens=24,
    )
    assert check.ok and check.samples == 6 and check.max_logit_diff < 1e-3
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged")
    assert not any("lora" in name for name, _ in merged.named_parameters())
