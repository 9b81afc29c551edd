"""Executors over one trial core: local and Ray give the same trials, base loads and on_trial calls."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import torch
from factories import make_trial

from harness.config import SuiteConfig, TrialSpec
from harness.errors import ConfigError
from harness.models.loading import LoadedModel
from harness.results import SweepResult, TrialResult
from harness.suite import load_suite
from harness.train.executors import EXECUTORS, get_executor
from harness.train.sweep import run_sweep
from harness.train.trials import TrialDone

Run = tuple[SweepResult, list[str]]  # the sweep, and the trial names on_trial saw, in order


def _sweep(suite_path: Path, out: Path, executor: str) -> Run:
    seen: list[TrialResult] = []
    sweep = run_sweep(load_suite(suite_path), out, executor=executor, on_trial=seen.append)
    assert sorted(seen, key=lambda t: t.name) == sweep.trials
    return sweep, [t.name for t in seen]


@pytest.fixture(scope="module")
def local_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("local")


@pytest.fixture(scope="module")
def local_runs(local_out: Path, tiny_suite_path: Path) -> tuple[Run, Run]:
    """A fresh local sweep, then a rerun in the same folder (every trial reused)."""
    return _sweep(tiny_suite_path, local_out, "local"), _sweep(tiny_suite_path, local_out, "local")


@pytest.fixture(scope="module")
def ray_runs(tmp_path_factory: pytest.TempPathFactory, tiny_suite_path: Path) -> Iterator[tuple[Run, Run]]:
    """The same on a local Ray instance with one CPU worker."""
    ray = pytest.importorskip("ray")
    out = tmp_path_factory.mktemp("ray")
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        yield _sweep(tiny_suite_path, out, "ray"), _sweep(tiny_suite_path, out, "ray")
    finally:
        ray.shutdown()


@pytest.mark.slow
def test_local_and_ray_train_the_same_trials(local_runs: tuple[Run, Run], ray_runs: tuple[Run, Run]) -> None:
    (local, local_seen), (remote, remote_seen) = local_runs[0], ray_runs[0]
    assert (local.executor, remote.executor) == ("local", "ray")
    assert local.base_loads == remote.base_loads == 1
    assert local_seen == remote_seen == ["a", "b"]  # on_trial: every trial, once, in both
    assert local.skipped == remote.skipped == []
    for here, there in zip(local.trials, remote.trials, strict=True):
        assert here.config_hash == there.config_hash and here.trainable_params == there.trainable_params
        assert [p.step for p in here.train_loss] == [p.step for p in there.train_loss]
        curves = zip(there.train_loss + there.eval_loss, here.train_loss + here.eval_loss, strict=True)
        for got, want in curves:
            assert got.loss == pytest.approx(want.loss, rel=1e-5, abs=1e-6)


@pytest.mark.slow
def test_reruns_reuse_every_trial_and_still_report_it(local_runs: tuple[Run, Run],
                                                      ray_runs: tuple[Run, Run]) -> None:
    for (first, _), (again, seen) in (local_runs, ray_runs):
        assert again.skipped == ["a", "b"] and seen == ["a", "b"]
        assert again.trials == first.trials and again.base_loads == 1


@pytest.mark.slow
def test_local_trains_on_the_callers_base(local_runs: tuple[Run, Run], local_out: Path, tiny_suite_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.models.suite_base import load_suite_base

    suite = load_suite(tiny_suite_path)
    loaded = load_suite_base(suite)
    out = local_out  # where local_runs trained: every trial is reused

    def no_second_load(_: SuiteConfig) -> LoadedModel:
        raise AssertionError("the executor loaded a base although it was given one")

    monkeypatch.setattr("harness.train.executors.load_suite_base", no_second_load)
    sweep = run_sweep(suite, out, loaded=loaded)
    assert sweep.base_loads == 1 and sweep.skipped == ["a", "b"]


def test_ray_refuses_a_loaded_base(tiny_suite_path: Path, tmp_path: Path) -> None:
    loaded = LoadedModel(model=None, tokenizer=None, device=torch.device("cpu"), quantized=False,
                         template="", template_source="", base_hash="x")
    with pytest.raises(ConfigError, match="cannot be shipped to Ray actors"):
        run_sweep(load_suite(tiny_suite_path), tmp_path, loaded=loaded, executor="ray")


def test_unknown_executor_names_the_known_ones() -> None:
    assert set(EXECUTORS) == {"local", "ray"}
    with pytest.raises(ConfigError, match=r"unknown executor 'dask'; known: local, ray"):
        get_executor("dask")


class Backwards:
    """An executor object (the strategy seam): finishes the trials last to first, b reused."""

    name = "backwards"

    def __init__(self) -> None:
        self.base_loads = 0

    def run(self, suite: SuiteConfig, specs: Sequence[TrialSpec], out: Path, *,
            loaded: LoadedModel | None, on_done: TrialDone) -> None:
        self.base_loads = 3
        for spec in reversed(specs):
            on_done(make_trial(spec.label()), spec.label() == "b")


def test_sweep_orders_what_any_executor_reports(tiny_suite_path: Path, tmp_path: Path) -> None:
    seen: list[str] = []
    sweep = run_sweep(load_suite(tiny_suite_path), tmp_path, executor=Backwards(),
                      on_trial=lambda t: seen.append(t.name))
    assert seen == ["b", "a"]  # as they finished
    assert [t.name for t in sweep.trials] == ["a", "b"]  # as the suite lists them
    assert sweep.skipped == ["b"] and sweep.base_loads == 3 and sweep.executor == "backwards"
    saved = SweepResult.model_validate_json((tmp_path / "sweep.json").read_text())
    assert saved.trials == sweep.trials and saved.skipped == ["b"] and saved.base_loads == 3
