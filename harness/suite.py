"""Loading a suite file: YAML in, a validated :class:`~harness.config.SuiteConfig` out, or one error line.

A validation error becomes a :class:`~harness.errors.ConfigError` naming the
key path (``sweep.grid.r[2]``), with a "did you mean" hint for unknown keys.
Every path the suite names is checked, and so is what this environment can run
(bitsandbytes for 4-bit, the tracking packages, peft for DoRA), before any work
starts.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from harness.config import CloneTemplateConfig, SuiteConfig
from harness.errors import ConfigError, DataError, brief
from harness.suite_checks import check_names, check_settings, check_suite_path, with_judge_paths
from harness.tracking import check_installed
from harness.yamlsafe import load_yaml_file


def load_suite(path: str | Path, *, adapters: Sequence[str] = ()) -> SuiteConfig:
    """Load, validate and check a suite file; raise ConfigError with a key path.

    ``adapters``: names of adapters scored besides the sweep's trials (``harness eval --adapter``),
    which gates may name as models.
    """
    p = Path(path)
    raw = load_yaml_file(p, "suite file", kind="suite")
    if not isinstance(raw, dict):
        raise ConfigError("expected a mapping at the top level", path=p)
    try:
        suite = SuiteConfig.model_validate({**raw, "source": str(p)})
        suite.sweep.expand()
    except ValidationError as exc:
        raise _config_error(exc, p) from None
    except ValueError as exc:
        raise ConfigError(str(exc), path=p) from None
    check_names(suite, p)
    _check_backends(suite, p)
    _check_paths(suite, p)
    _check_compatible(suite, p)
    if suite.audit.serving_template:
        _check_serving_template(suite, p)
    suite = with_judge_paths(suite)
    check_settings(suite, p, adapters=adapters)
    return suite


def _check_backends(suite: SuiteConfig, path: Path) -> None:
    """Every judge names a registered backend or an importable ``module:Class`` (the registry's check:
    the config models hold data and know no registry)."""
    from harness.judge.backends.registry import check_backend

    for i, judge in enumerate(suite.judges):
        try:
            check_backend(judge.backend)
        except ValueError as exc:
            raise ConfigError(str(exc), path=path, key=f"judges[{i}].backend") from None


def _check_serving_template(suite: SuiteConfig, path: Path) -> None:
    """Parse the serving template now, so that a bad one stops the run before any work."""
    from harness.templates.serving import load_serving_template

    try:
        load_serving_template(suite.resolve(str(suite.audit.serving_template)))
    except DataError as exc:
        raise ConfigError(str(exc), path=path, key="audit.serving_template") from None


def _check_compatible(suite: SuiteConfig, path: Path) -> None:
    """Refuse option combinations this environment cannot run, before any work starts."""
    import importlib.util

    if suite.base.load_in_4bit and importlib.util.find_spec("bitsandbytes") is None:
        raise ConfigError(
            "4-bit loading needs bitsandbytes, which is not installed",
            path=path,
            key="base.load_in_4bit",
            hint="pip install bitsandbytes, or set it to false",
        )
    if suite.tracking.enabled:
        check_installed(suite.tracking, path=path)
    if suite.base.load_in_4bit and any(t.use_dora for t in suite.sweep.expand()):
        from importlib.metadata import version

        from packaging.version import Version

        # DoRA on a bitsandbytes 4-bit base needs peft's quantized DoRA path (peft >= 0.12).
        if Version(version("peft")) < Version("0.12"):
            raise ConfigError(
                "DoRA on a 4-bit base needs peft >= 0.12",
                path=path,
                key="sweep",
                hint="upgrade peft, or set base.load_in_4bit: false for DoRA trials",
            )


def _config_error(exc: ValidationError, path: Path) -> ConfigError:
    err = exc.errors()[0]
    key = _key_path(err["loc"])
    if err["type"] == "extra_forbidden":
        parent = _model_at(SuiteConfig, err["loc"][:-1])
        known = list(parent.model_fields) if parent else []
        near = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
        hint = f"did you mean {near[0]!r}?" if near else None
        return ConfigError("unknown key", path=path, key=key, hint=hint)
    got = err.get("input")
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "value_error" and msg.startswith("."):
        sub, _, rest = msg.partition(": ")
        return ConfigError(rest, path=path, key=f"{key}{sub}")
    if err["type"] == "missing":
        return ConfigError("required key is missing", path=path, key=key)
    return ConfigError(
        f"{msg}, got {brief(got)}" if err["type"] != "value_error" else msg, path=path, key=key or None
    )


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(str(part)) if hasattr(current, "model_fields") else None
        if field is None:
            return None
        current = field.annotation
        args = getattr(current, "__args__", ())
        current = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _check_paths(suite: SuiteConfig, path: Path) -> None:
    checks = [
        ("base.path", suite.base.path),
        ("data.train", suite.data.train),
        ("data.eval", suite.data.eval),
    ]
    if suite.data.general:
        checks.append(("data.general", suite.data.general))
    if suite.score.mmlu:
        checks.append(("score.mmlu.path", suite.score.mmlu.path))
    checks += [(f"audit.benchmarks.{k}", v) for k, v in suite.audit.benchmarks.items()]
    if suite.audit.serving_template:
        checks.append(("audit.serving_template", suite.audit.serving_template))
    for i, judge in enumerate(suite.judges):
        if judge.anchors:
            checks.append((f"judges[{i}].anchors", judge.anchors))
        if judge.backend == "local":
            checks.append((f"judges[{i}].model", judge.model))
    tmpl = suite.base.chat_template
    if isinstance(tmpl, str) and tmpl != "plain":
        checks.append(("base.chat_template", tmpl))
    for key, value in checks:
        check_suite_path(suite.resolve(value), key, suite=path)
    if isinstance(tmpl, CloneTemplateConfig):
        _check_clone_source(suite.resolve(tmpl.clone), path)


def _check_clone_source(source: Path, path: Path) -> None:
    """The clone source exists and holds a chat template (read as JSON: no model stack imported)."""
    from harness.models.template_clone import CloneSourceError, read_clone_source

    try:
        read_clone_source(source)
    except CloneSourceError as exc:
        raise ConfigError(str(exc), path=path, key="base.chat_template.clone") from None


__all__ = ["load_suite"]
