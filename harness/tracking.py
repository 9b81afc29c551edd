"""Export a written run's results to MLflow and/or Weights & Biases.

Reads a :class:`RunResults` and the files already in the output folder; never runs a model.
What a run logs is built once, backend-neutral (:func:`export`), then written by each backend:

- scalars: ``<model>/<metric>`` for every model, the candidate's metrics also unprefixed,
  ``delta/<metric>/<candidate>/{delta,ci_low,ci_high,p_value}``, ``gates/passed`` (0/1),
  ``gates/failed_count``, ``audit/errors``, ``audit/warnings`` and per sweep trial
  ``trial/<name>/{final_train_loss,final_eval_loss,trainable_params,wall_s}``;
- loss curves, step-indexed: ``train_loss/<trial>`` and ``eval_loss/<trial>``;
- params: ``suite``, ``candidate`` and ``hash/<name>`` for every hash in results.json;
- artifacts: ``results.json``, ``index.html`` and ``sweep.html`` when they exist in the output folder.

mlflow (``mlflow-skinny`` is enough) and wandb come with the ``tracking`` extra and are imported
only inside functions, so ``import harness`` never pulls them in. Nothing from the environment
is logged, W&B's console capture, git and machine metadata are off (a git remote URL can carry a
token), and a param whose name or value looks like a credential is dropped.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

from harness.config import MLflowTracking, TrackingConfig, WandbTracking
from harness.errors import ConfigError, HarnessError
from harness.results import RunResults

INSTALL_HINT = "pip install 'finetune-harness[tracking]'"
ARTIFACTS = ("results.json", "index.html", "sweep.html")
# MLflow key characters (its Windows rule, the strictest); anything else in user data becomes "_".
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. ]")
_SECRET_NAME = re.compile(
    r"(?:^|[^a-z])(?:api[_-]?key|access[_-]?key|secret|password|passwd|credentials?|token|auth)(?:$|[^a-z])",
    re.IGNORECASE,
)
_SECRET_VALUE = re.compile(r"\b(?:sk|pk|rk|hf|ghp|gho|ghs|xox[abp])[-_][A-Za-z0-9_-]{8,}")
_URL_CREDENTIALS = re.compile(r"//[^/@\s]+@")
_DB_SCHEMES = {"sqlite", "postgresql", "mysql", "mssql"}
_MLFLOW_PARAM_MAX = 500  # the smallest param value limit across supported MLflow versions
_T = TypeVar("_T")


class TrackingError(HarnessError):
    """A tracker failed at run time (server unreachable, bad credentials).

    ``logged`` holds the lines of the backends that did succeed.
    """

    def __init__(self, message: str, *, logged: list[str]) -> None:
        self.logged = logged
        super().__init__(message)


@dataclass(frozen=True)
class Export:
    """What one run logs, independent of the backend."""

    suite: str
    scalars: dict[str, float]
    curves: dict[str, list[tuple[int, float]]]
    params: dict[str, str]
    artifacts: list[Path]


def check_installed(config: TrackingConfig, path: str | Path | None = None) -> None:
    """Raise ConfigError (with the suite key) for a configured backend that cannot run here."""
    for name in ("mlflow", "wandb"):
        if getattr(config, name) is not None and importlib.util.find_spec(name) is None:
            raise ConfigError(
                f"{name} is not installed", path=path, key=f"tracking.{name}", hint=INSTALL_HINT
            )
    uri = config.mlflow.tracking_uri if config.mlflow else None
    scheme = urlparse(uri).scheme.split("+")[0] if uri else ""
    # mlflow-skinny has no SQLAlchemy, hence no database store: say so now, not after the run.
    if scheme in _DB_SCHEMES and importlib.util.find_spec("sqlalchemy") is None:
        raise ConfigError(
            "a database tracking_uri needs the full mlflow package",
            path=path,
            key="tracking.mlflow.tracking_uri",
            hint="pip install mlflow, or use a file path or an http(s) server",
        )


def log_results(results: RunResults, config: TrackingConfig, out: Path) -> list[str]:
    """Log ``results`` (and ``out``'s results.json and report) to every configured tracker.

    Returns one line per backend saying where the run went. Every backend is tried; if any
    failed, TrackingError names them after the others ran. A missing package is a ConfigError
    before anything is logged. Paths in ``config`` should be resolved (TrackingConfig.resolved).
    """
    check_installed(config)
    ex = export(results, out)
    logged: list[str] = []
    failed: list[str] = []
    for name, log in _backends(config):
        try:
            logged.append(f"{name}: {log(ex, out)}")
        except Exception as exc:  # trackers raise many undocumented types; the run is written already
            failed.append(f"{name}: {_one_line(exc)}")
    if failed:
        raise TrackingError("; ".join(failed), logged=logged)
    return logged


def _backends(config: TrackingConfig) -> list[tuple[str, Callable[[Export, Path], str]]]:
    backends: list[tuple[str, Callable[[Export, Path], str]]] = []
    if config.mlflow is not None:
        backends.append(("mlflow", partial(_log_mlflow, cfg=config.mlflow)))
    if config.wandb is not None:
        backends.append(("wandb", partial(_log_wandb, cfg=config.wandb)))
    return backends


def export(results: RunResults, out: Path) -> Export:
    """Everything a tracker gets from one run, with keys every backend accepts."""
    return Export(
        suite=results.suite,
        scalars=_scalars(results),
        curves=_curves(results),
        params=_params(results),
        artifacts=[out / name for name in ARTIFACTS if (out / name).is_file()],
    )


def key(*parts: str) -> str:
    """A metric/param key from parts (names are user data): MLflow-safe, one path segment per part."""
    segments = [_UNSAFE.sub("_", part).strip()[:100] for part in parts]
    # "", "." and ".." are not segments MLflow accepts (its keys must be normalized relative paths).
    return "/".join(s if s.strip(".") else "_" for s in segments)


def _scalars(results: RunResults) -> dict[str, float]:
    values: dict[str, float | None] = {}
    for model, metrics in results.models.items():
        values.update({key(model, metric): v for metric, v in metrics.items()})
    if results.candidate in results.models:
        values.update({key(metric): v for metric, v in results.models[results.candidate].items()})
    for c in results.comparisons:
        for stat in ("delta", "ci_low", "ci_high", "p_value"):
            values[key("delta", c.metric, c.candidate, stat)] = getattr(c, stat)
    values["gates/passed"] = float(results.passed)
    values["gates/failed_count"] = float(sum(not g.passed for g in results.gates))
    if results.audit is not None:
        values["audit/errors"] = results.audit.count("error")
        values["audit/warnings"] = results.audit.count("warning")
    for t in results.sweep.trials if results.sweep else []:
        values[key("trial", t.name, "trainable_params")] = t.trainable_params
        values[key("trial", t.name, "wall_s")] = t.wall_s
        values[key("trial", t.name, "final_train_loss")] = t.train_loss[-1].loss if t.train_loss else None
        values[key("trial", t.name, "final_eval_loss")] = t.eval_loss[-1].loss if t.eval_loss else None
    # Trackers differ on NaN/inf (and None means "not computed"): results.json keeps those.
    return {k: float(v) for k, v in values.items() if v is not None and math.isfinite(v)}


def _curves(results: RunResults) -> dict[str, list[tuple[int, float]]]:
    curves: dict[str, list[tuple[int, float]]] = {}
    for t in results.sweep.trials if results.sweep else []:
        for kind, points in (("train_loss", t.train_loss), ("eval_loss", t.eval_loss)):
            finite = [(p.step, p.loss) for p in points if math.isfinite(p.loss)]
            if finite:
                curves[key(kind, t.name)] = finite
    return curves


def _params(results: RunResults) -> dict[str, str]:
    params = {"suite": results.suite, **({"candidate": results.candidate} if results.candidate else {})}
    params.update({key("hash", name): value for name, value in results.hashes.items()})
    return {k: v for k, v in params.items() if not _SECRET_NAME.search(k) and not _SECRET_VALUE.search(v)}


def _log_mlflow(ex: Export, out: Path, *, cfg: MLflowTracking) -> str:
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    uri = cfg.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or (out / "mlruns").resolve().as_uri()
    with _mlflow_env(uri):
        # The client API, not mlflow.start_run: no global state, and no automatic tags
        # (the fluent API records the git remote URL, which can carry a token).
        client = MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name(cfg.experiment)
        exp_id = experiment.experiment_id if experiment else client.create_experiment(cfg.experiment)
        run = client.create_run(exp_id, run_name=cfg.run_name or ex.suite, tags={"suite": ex.suite})
        run_id = run.info.run_id
        status = "FAILED"
        try:
            now = int(time.time() * 1000)
            metrics = [Metric(k, v, now, 0) for k, v in ex.scalars.items()]
            metrics += [Metric(k, v, now, step) for k, points in ex.curves.items() for step, v in points]
            for batch in _chunks(metrics, 1000):  # MLflow's per-request limits
                client.log_batch(run_id, metrics=batch)
            params = [Param(k, v[:_MLFLOW_PARAM_MAX]) for k, v in ex.params.items()]
            for pbatch in _chunks(params, 100):
                client.log_batch(run_id, params=pbatch)
            for path in ex.artifacts:
                client.log_artifact(run_id, str(path))
            status = "FINISHED"
        finally:
            client.set_terminated(run_id, status)
    return f"run {run_id} in {_redact(uri)}"


# MLflow's own HTTP defaults (7 retries, doubling backoff, 120 s timeout) spend about four minutes
# on an unreachable server before failing; a tracker outage should cost the run seconds.
_MLFLOW_HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}


@contextlib.contextmanager
def _mlflow_env(uri: str) -> Iterator[None]:
    """Defaults for MLflow's environment settings the user left unset, for this logging only.

    MLflow 3 refuses a file store unless MLFLOW_ALLOW_FILE_STORE is set; a suite naming one opts in.
    """
    defaults = dict(_MLFLOW_HTTP_DEFAULTS)
    if urlparse(uri).scheme == "file":
        defaults["MLFLOW_ALLOW_FILE_STORE"] = "true"
    added = [name for name in defaults if name not in os.environ]
    os.environ.update({name: defaults[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def _log_wandb(ex: Export, out: Path, *, cfg: WandbTracking) -> str:
    if cfg.mode == "disabled":
        return "disabled, nothing logged"
    import wandb

    directory = Path(cfg.dir or os.environ.get("WANDB_DIR") or out)
    directory.mkdir(parents=True, exist_ok=True)
    settings = wandb.Settings(
        console="off",  # captured output could hold anything the process printed
        save_code=False,
        disable_git=True,
        x_disable_meta=True,  # command line, host, git remote
        x_disable_stats=True,
        silent=True,  # stdout stays parseable
    )
    run = wandb.init(
        project=cfg.project,
        entity=cfg.entity,
        mode=cfg.mode,
        dir=str(directory),
        name=cfg.run_name or ex.suite,
        config=ex.params,
        tags=[ex.suite[:64]],  # W&B's tag length limit
        settings=settings,
    )
    with run:  # finishes the run, marked failed if logging raises
        for kind in ("train_loss", "eval_loss"):
            run.define_metric(f"{kind}/*", step_metric="train_step")
        for step, row in _rows_by_step(ex.curves):
            run.log({"train_step": step, **row})
        run.summary.update(ex.scalars)
        for path in ex.artifacts:
            # A copy in the run's own folder: wandb.save on the original would symlink it, and an
            # offline run synced later would upload whatever that file holds by then.
            copy = Path(shutil.copy2(path, Path(run.dir) / path.name))
            run.save(str(copy), base_path=run.dir, policy="now")
        where = run.url if cfg.mode == "online" else f"offline run {run.id} in {Path(run.dir).parent}"
    return where or f"run {run.id}"


def _rows_by_step(curves: dict[str, list[tuple[int, float]]]) -> list[tuple[int, dict[str, float]]]:
    """One row per training step with every curve that has a point there (one wandb.log each)."""
    rows: dict[int, dict[str, float]] = {}
    for name, points in curves.items():
        for step, value in points:
            rows.setdefault(step, {})[name] = value
    return sorted(rows.items())


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _redact(text: str) -> str:
    """``scheme://user:password@host`` -> ``scheme://***@host``."""
    return _URL_CREDENTIALS.sub("//***@", text)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return _redact(f"{type(exc).__name__}: {text}"[:300])


__all__ = ["ARTIFACTS", "Export", "TrackingError", "check_installed", "export", "key", "log_results"]
