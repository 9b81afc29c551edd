"""Logging results to MLflow (local file store) and W&B (offline): read back what each really wrote."""

from __future__ import annotations

import json
import os
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from factories import make_trial

import harness.tracking
from harness.config import MLflowTracking, TrackingConfig, WandbTracking
from harness.errors import ConfigError
from harness.pipeline import finish_evaluation
from harness.results import (
    AuditResult,
    Comparison,
    Evaluation,
    Finding,
    GateResult,
    LossPoint,
    RunResults,
    SweepResult,
    TrialResult,
    write_json,
)
from harness.suite import load_suite
from harness.tracking import TrackingError, export, log_results

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "suites" / "demo" / "model"
TRAIN = ROOT / "suites" / "demo" / "train.jsonl"
PLANTED = "sk-test-PLANTED-123"
TRIAL = "r8 q/v"  # a "/" in user data must not add a key level
CURVE = "train_loss/r8 q_v"


def trial() -> TrialResult:
    return make_trial(
        TRIAL,
        8,
        steps=5,
        config={"r": 8},
        config_hash="h",
        trainable_params=8000,
        trainable_share=8000 / 300000,
        wall_s=3.5,
        eval_loss=[LossPoint(step=s, loss=2.5 / s) for s in (2, 4)],
    )


def comparison(metric: str, delta: float, p_value: float | None) -> Comparison:
    return Comparison(
        metric=metric,
        base="base",
        candidate="ft",
        base_value=0.1,
        candidate_value=0.1 + delta,
        delta=delta,
        ci_low=delta - 0.2,
        ci_high=delta + 0.2,
        p_value=p_value,
        n=40,
    )


def results() -> RunResults:
    return RunResults(
        suite="tiny",
        models={"base": {"exact_match": 0.1, "mmlu": 30.0}, "ft": {"exact_match": 0.6, "mmlu": 27.0}},
        comparisons=[comparison("exact_match", 0.5, 0.001), comparison("mmlu", -3.0, None)],
        gates=[
            GateResult(name="a", expression="exact_match >= 0.5", passed=True, message="ok"),
            GateResult(name="b", expression="mmlu.delta > 0", passed=False, message="no"),
        ],
        audit=AuditResult(findings=[Finding(check="leakage", severity="error", message="x")]),
        sweep=SweepResult(trials=[trial()]),
        candidate="ft",
        hashes={"base": "b" * 64, "adapter:ft": "f" * 64, "tokenizer": "t" * 64},
    )


@dataclass
class Logged:
    lines: list[str]
    out: Path
    mlruns: Path
    wandb_dir: Path
    root: Path
    file_store_env_after: str | None


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Logged]:
    """Both backends once (W&B's offline init costs about a second), with a planted key in the env."""
    root = tmp_path_factory.mktemp("tracking")
    out = root / "run"
    out.mkdir()
    write_json(results(), out / "results.json")
    (out / "index.html").write_text("<html>report</html>")
    config = TrackingConfig(
        mlflow=MLflowTracking(tracking_uri=(root / "mlruns").as_uri(), experiment="exp"),
        wandb=WandbTracking(project="proj", mode="offline", dir=str(root / "wandb_dir")),
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENAI_API_KEY", PLANTED)
        mp.delenv("WANDB_API_KEY", raising=False)
        for var in ("MLFLOW_ALLOW_FILE_STORE", "MLFLOW_HTTP_REQUEST_TIMEOUT"):
            mp.delenv(var, raising=False)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.setenv("WANDB_MODE", "offline")
        mp.setenv("WANDB_SILENT", "true")
        for var in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR", "WANDB_ARTIFACT_DIR"):
            mp.setenv(var, str(root / "wandb_home"))  # so nothing lands outside the scanned folder
        lines = log_results(results(), config, out)
        after = os.environ.get("MLFLOW_ALLOW_FILE_STORE") or os.environ.get("MLFLOW_HTTP_REQUEST_TIMEOUT")
    yield Logged(lines, out, root / "mlruns", root / "wandb_dir", root, after)


def test_mlflow_run_reads_back(logged: Logged, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 asks a file store reader to opt in
    client = MlflowClient(tracking_uri=logged.mlruns.as_uri())
    exp = client.get_experiment_by_name("exp")
    assert exp is not None
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "tiny"
    assert any(line.startswith(f"mlflow: run {run.info.run_id} in file://") for line in logged.lines)
    m = run.data.metrics
    assert m["ft/exact_match"] == 0.6 and m["base/exact_match"] == 0.1
    assert m["exact_match"] == 0.6 and m["mmlu"] == 27.0  # the candidate's, unprefixed
    assert m["delta/exact_match/ft/delta"] == 0.5
    assert m["delta/exact_match/ft/ci_low"] == pytest.approx(0.3)
    assert m["delta/exact_match/ft/p_value"] == 0.001
    assert "delta/mmlu/ft/p_value" not in m  # not computed: not logged as a number
    assert m["gates/passed"] == 0.0 and m["gates/failed_count"] == 1.0
    assert m["audit/errors"] == 1.0 and m["audit/warnings"] == 0.0
    assert m["trial/r8 q_v/final_train_loss"] == pytest.approx(0.4)
    assert m["trial/r8 q_v/trainable_params"] == 8000 and m["trial/r8 q_v/wall_s"] == 3.5
    history = client.get_metric_history(run.info.run_id, CURVE)
    assert [(h.step, h.value) for h in sorted(history, key=lambda h: h.step)] == [
        (s, pytest.approx(2.0 / s)) for s in range(1, 6)
    ]
    assert [h.step for h in client.get_metric_history(run.info.run_id, "eval_loss/r8 q_v")] == [2, 4]
    p = run.data.params
    assert p["suite"] == "tiny" and p["candidate"] == "ft" and p["hash/adapter_ft"] == "f" * 64
    assert run.data.tags["suite"] == "tiny"
    assert {a.path for a in client.list_artifacts(run.info.run_id)} == {"results.json", "index.html"}
    assert logged.file_store_env_after is None  # the opt-in was scoped to the logging


def wandb_records(path: Path) -> list[Any]:
    """The records of a ``.wandb`` file: a 7-byte W&B header, then LevelDB-log framed protobufs."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, pending, records, block = 7, b"", [], 32768
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a header is padding
            pos += block - pos % block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        pending += data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # FULL or LAST: a record is complete
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
    return records


def _items(updates: Any) -> dict[str, Any]:
    return {u.key or ".".join(u.nested_key): json.loads(u.value_json) for u in updates}


def test_wandb_offline_run_holds_the_results(logged: Logged) -> None:
    (run_dir,) = (logged.wandb_dir / "wandb").glob("offline-run-*")
    assert f"wandb: offline run {run_dir.name.rsplit('-', 1)[1]} in {run_dir}" in logged.lines
    saved = run_dir / "files" / "results.json"
    assert not saved.is_symlink() and saved.read_bytes() == (logged.out / "results.json").read_bytes()
    assert (run_dir / "files" / "index.html").is_file()
    records = wandb_records(next(run_dir.glob("run-*.wandb")))
    (run,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    assert run.project == "proj" and run.display_name == "tiny" and list(run.tags) == ["tiny"]
    config = _items(run.config.update)
    assert config["suite"] == "tiny" and config["hash/adapter_ft"] == "f" * 64
    summary: dict[str, Any] = {}
    for r in records:
        if r.WhichOneof("record_type") == "summary":
            summary.update(_items(r.summary.update))
    assert summary["exact_match"] == 0.6 and summary["gates/passed"] == 0.0
    assert summary["delta/mmlu/ft/delta"] == -3.0 and summary["trial/r8 q_v/trainable_params"] == 8000
    rows = [_items(r.history.item) for r in records if r.WhichOneof("record_type") == "history"]
    curve = [(row["train_step"], row[CURVE]) for row in rows if CURVE in row]
    assert curve == [(s, pytest.approx(2.0 / s)) for s in range(1, 6)]


def test_no_key_from_the_environment_is_written(logged: Logged) -> None:
    files = [p for p in logged.root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".wandb" for p in files) and any(p.name == "meta.yaml" for p in files)
    leaked = [p for p in files if PLANTED.encode() in p.read_bytes()]
    assert leaked == []


def test_params_that_look_like_credentials_are_dropped() -> None:
    hashes = {"tokenizer": "t", "api_key": "x", "hf_token": "y", "adapter:ft": PLANTED, "base": "b"}
    params = export(results().model_copy(update={"hashes": hashes}), Path("/nonexistent")).params
    assert params == {"suite": "tiny", "candidate": "ft", "hash/tokenizer": "t", "hash/base": "b"}


def test_keys_are_sanitized() -> None:
    assert harness.tracking.key("delta", "judge:acc", "a/b", "..") == "delta/judge_acc/a_b/_"
    assert harness.tracking.key("", "x y.z-1") == "_/x y.z-1"


def test_tracker_failure_is_a_tracking_error_after_the_others(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    config = TrackingConfig(
        mlflow=MLflowTracking(tracking_uri=blocker.as_uri()), wandb=WandbTracking(mode="disabled")
    )
    with pytest.raises(TrackingError, match=r"^mlflow: ") as err:
        log_results(results(), config, tmp_path)
    assert err.value.logged == ["wandb: disabled, nothing logged"]
    assert "\n" not in str(err.value)


def suite_file(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "s.yaml"
    p.write_text(f"name: t\nbase: {{path: {MODEL}}}\ndata: {{train: {TRAIN}, eval: {TRAIN}}}\n{body}")
    return p


def test_tracking_config_keys_and_paths(tmp_path: Path) -> None:
    assert not load_suite(suite_file(tmp_path, "")).tracking.enabled
    bare = load_suite(suite_file(tmp_path, "tracking:\n  mlflow:\n"))
    assert bare.tracking.mlflow == MLflowTracking() and bare.tracking.wandb is None
    suite = load_suite(
        suite_file(tmp_path, "tracking: {mlflow: {tracking_uri: runs/ml}, wandb: {dir: wb}}\n")
    )
    resolved = suite.tracking.resolved(suite.folder)
    assert resolved.mlflow is not None and resolved.wandb is not None
    assert resolved.mlflow.tracking_uri == (tmp_path / "runs" / "ml").resolve().as_uri()
    assert resolved.wandb.dir == str(tmp_path / "wb") and resolved.wandb.mode == "offline"
    remote = TrackingConfig(mlflow=MLflowTracking(tracking_uri="https://mlflow.example:5000"))
    assert remote.resolved(tmp_path).mlflow == remote.mlflow


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "tracking: {mlflow: {trackin_uri: x}}",
            r"tracking\.mlflow\.trackin_uri: unknown key \(did you mean",
        ),
        ("tracking: {mlfow: {}}", r"tracking\.mlfow: unknown key \(did you mean 'mlflow'\?\)"),
        ("tracking: {wandb: {mode: offlien}}", r"tracking\.wandb\.mode: "),
    ],
)
def test_bad_tracking_keys_name_their_path(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_suite(suite_file(tmp_path, body + "\n"))


def test_missing_package_is_refused_before_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # find_spec and import both fail, as when not installed
    expected = r"tracking\.mlflow: mlflow is not installed \(pip install 'finetune-harness\[tracking\]'\)"
    with pytest.raises(ConfigError, match=expected):
        load_suite(suite_file(tmp_path, "tracking: {mlflow: {}}\n"))
    with pytest.raises(ConfigError, match=expected):
        log_results(results(), TrackingConfig(mlflow=MLflowTracking()), tmp_path)
    assert not (tmp_path / "mlruns").exists()


def _finish(tmp_path: Path, body: str) -> RunResults:
    suite = load_suite(suite_file(tmp_path, body))
    models = {"base": {"exact_match": 0.1}, "ft": {"exact_match": 0.6}}
    scored = Evaluation(models=models, comparisons=[], items=[], forward_passes={}, hashes={})
    return finish_evaluation(suite, tmp_path / "out", scored, audit=None, sweep=None)


def test_finish_logs_after_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[RunResults, TrackingConfig, Path]] = []

    def fake(results: RunResults, config: TrackingConfig, out: Path) -> list[str]:
        assert (out / "results.json").is_file() and (out / "index.html").is_file()
        calls.append((results, config, out))
        return ["fake: logged"]

    monkeypatch.setattr(harness.tracking, "log_results", fake)
    (tmp_path / "out").mkdir()
    _finish(tmp_path, "")
    assert calls == []
    results = _finish(tmp_path, "tracking: {wandb: {dir: wb}}\n")
    ((logged, config, out),) = calls
    assert logged == results and out == tmp_path / "out"
    assert config.wandb is not None and config.wandb.dir == str(tmp_path / "wb")


def test_finish_survives_a_tracker_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(results: RunResults, config: TrackingConfig, out: Path) -> list[str]:
        raise TrackingError("mlflow: ConnectionError: [unreachable]", logged=["wandb: offline run x"])

    monkeypatch.setattr(harness.tracking, "log_results", broken)
    (tmp_path / "out").mkdir()
    results = _finish(tmp_path, "tracking: {mlflow: {}}\n")
    assert results.passed and (tmp_path / "out" / "results.json").is_file()
    err = capsys.readouterr().err
    assert "warning: tracking failed: mlflow: ConnectionError: [unreachable]" in err
    assert "tracking: wandb: offline run x" in err


def test_mlflow_env_defaults_are_scoped_and_yield_to_the_user(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.tracking import _mlflow_env

    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "600")
    with _mlflow_env("https://mlflow.example"):
        assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "3"
        assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "600"
        assert "MLFLOW_ALLOW_FILE_STORE" not in os.environ  # only a file store opts in
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "600"
