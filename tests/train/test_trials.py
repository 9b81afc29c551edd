"""Trial folders: any name maps inside the run folder, nothing outside it is ever removed, and the
adapter paths a sweep records are relative to the run folder (found from any directory, in a copy).

Training is replaced by a copy of a real fixture adapter (the folder logic is what is under test);
the base, the data and the sweep are real.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import main
from harness.config import SuiteConfig, SweepConfig, TrialSpec
from harness.errors import DataError
from harness.models.loading import LoadedModel
from harness.models.suite_base import load_suite_base
from harness.results import TrialResult, load_sweep
from harness.suite import load_suite
from harness.train.run import TrialData
from harness.train.sweep import run_sweep

pytestmark = pytest.mark.slow  # loads the real tiny base

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "tiny"
ADAPTER = ROOT / "tests" / "fixtures" / "score" / "adapter_good"


def write_suite(folder: Path, trials: list[dict[str, Any]], **extra: Any) -> Path:
    """The tiny suite with these trials (data and base by absolute path), scored on perplexity only."""
    doc = yaml.safe_load((TINY / "suite.yaml").read_text())
    doc["base"]["path"] = str((TINY / doc["base"]["path"]).resolve())
    doc["data"] = {k: str(TINY / v) for k, v in doc["data"].items()}
    doc["sweep"]["trials"] = trials
    doc["score"] = {"metrics": ["perplexity"], "bootstrap": 100, "batch_size": 16}
    doc["gates"] = []
    doc.update(extra)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture(scope="module")
def loaded() -> LoadedModel:
    return load_suite_base(load_suite(TINY / "suite.yaml"))


@pytest.fixture
def fake_training(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Training replaced by copying a real adapter into the trial's folder; returns the trials trained."""
    trained: list[str] = []

    def train(loaded: LoadedModel, spec: TrialSpec, sweep: SweepConfig, data: TrialData, out: Path, *,
              config_hash: str) -> TrialResult:
        trained.append(spec.label())
        shutil.copytree(ADAPTER, out / "adapter", dirs_exist_ok=True)
        return TrialResult(name=spec.label(), config=spec.model_dump(), config_hash=config_hash,
                           trainable_params=1, total_params=2, trainable_share=0.5, steps=1, train_tokens=1,
                           tokens_per_s=1.0, wall_s=0.1, step_s=0.1, peak_mem_bytes=1, peak_mem_kind="rss",
                           adapter_path=str(out / "adapter"), overfitting=False)

    monkeypatch.setattr("harness.train.trials.train_trial", train)
    return trained


def sweep(suite: SuiteConfig, out: Path, loaded: LoadedModel) -> list[str]:
    """Run the sweep; the names of the trials it reused."""
    return run_sweep(suite, out, loaded=loaded).skipped


def test_a_trial_named_dotdot_never_removes_the_run_folder(
    tmp_path: Path, loaded: LoadedModel, fake_training: list[str]
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "mine.txt").write_text("not the harness's")
    sweep(load_suite(write_suite(tmp_path / "s1", [{"name": "..", "r": 4}])), out, loaded)
    # The config changes: the claim step discards the old trial's folder, and only that.
    sweep(load_suite(write_suite(tmp_path / "s2", [{"name": "..", "r": 8}])), out, loaded)
    assert (out / "mine.txt").read_text() == "not the harness's"
    assert fake_training == ["..", ".."]
    trial = load_sweep(out / "sweep.json").trials[0]
    assert trial.name == ".."  # the display name is kept
    adapter = out / trial.adapter_path
    assert (adapter / "adapter_config.json").is_file()
    assert (out / "trials") in adapter.resolve().parents


def test_a_copied_run_folder_reuses_its_own_adapters(
    tmp_path: Path, loaded: LoadedModel, fake_training: list[str]
) -> None:
    suite = load_suite(write_suite(tmp_path / "s", [{"name": "a", "r": 4}]))
    first = tmp_path / "first"
    sweep(suite, first, loaded)
    copy = tmp_path / "copy"
    shutil.copytree(first, copy)
    shutil.rmtree(first)
    assert sweep(suite, copy, loaded) == ["a"]  # reused: its adapter is the copy's own
    assert fake_training == ["a"]


def test_sweep_json_stores_adapter_paths_relative_to_the_run_folder(
    tmp_path: Path, loaded: LoadedModel, fake_training: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = load_suite(write_suite(tmp_path / "s", [{"name": "a", "r": 4}]))
    monkeypatch.chdir(tmp_path)
    sweep(suite, Path("reports") / "x", loaded)
    stored = json.loads((tmp_path / "reports" / "x" / "sweep.json").read_text())
    assert stored["trials"][0]["adapter_path"] == "trials/a/adapter"


def test_harness_eval_from_another_directory_scores_the_run_folders_adapters(
    tmp_path: Path, loaded: LoadedModel, fake_training: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_suite(tmp_path / "s", [{"name": "a", "r": 4}])
    monkeypatch.chdir(tmp_path)
    sweep(load_suite(path), Path("run"), loaded)  # a relative --out, as the CLI gets it
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["eval", str(path), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert set(results["models"]) == {"base", "a"}
    assert results["models"]["a"]["eval_perplexity"] != results["models"]["base"]["eval_perplexity"]


def test_a_template_that_refuses_every_row_stops_the_sweep_naming_the_data(tmp_path: Path) -> None:
    template = tmp_path / "refuses.jinja"
    template.write_text("{{ raise_exception('this template refuses every conversation') }}")
    doc = yaml.safe_load(write_suite(tmp_path / "s", [{"name": "a", "r": 4}]).read_text())
    doc["base"]["chat_template"] = str(template)
    path = tmp_path / "s" / "suite.yaml"
    path.write_text(yaml.safe_dump(doc))
    suite = load_suite(path)
    with pytest.raises(DataError) as err:
        run_sweep(suite, tmp_path / "out")
    assert str(err.value).startswith(f"{TINY / 'train.jsonl'}: no row can be trained on: all 96 rows were "
                                     "skipped (line 1: template error: this template refuses every")
