"""Rubric files (``judges/*.yaml``): load, validate with key paths, render judge prompts.

A rubric holds the prompt template (Jinja2, sandboxed, strict), the protocol it
is written for, the verdict scale and its anchors (or named labels, each worth
a score), and the most tokens a verdict may take. Its ``content_hash`` covers
everything that changes what the judge is asked, so editing a rubric never
reuses verdicts cached under the old text.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.errors import ConfigError, brief
from harness.io import sha256_text
from harness.yamlsafe import load_yaml_file

DEFAULT_RUBRIC_DIR = Path(__file__).resolve().parents[2] / "judges"  # the repository's judges/
SUFFIXES = (".yaml", ".yml")

POINTWISE_VARS = frozenset({"prompt", "output", "reference", "scale_text", "scale_min", "scale_max"})
PAIRWISE_VARS = frozenset({"prompt", "output_a", "output_b", "reference"})
REQUIRED_VARS: dict[str, frozenset[str]] = {
    "pointwise": frozenset({"prompt", "output"}),
    "pairwise": frozenset({"prompt", "output_a", "output_b"}),
}

_ENV = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)


class Scale(BaseModel):
    """An integer scale with the meaning of some of its points."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min: int
    max: int
    anchors: dict[int, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if self.max <= self.min:
            raise ValueError(f"scale.max ({self.max}) must be above scale.min ({self.min})")
        for point in self.anchors:
            if not self.min <= point <= self.max:
                raise ValueError(f"scale.anchors.{point}: outside the scale {self.min}..{self.max}")
        return self


class Rubric(BaseModel):
    """A validated rubric. ``source`` and ``content_hash`` are filled by :func:`load_rubric`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    version: int = Field(ge=1)
    description: str = ""
    protocol: Literal["pointwise", "pairwise"]
    requires_reference: bool = False  # items without a reference cannot be judged with it
    system: str = ""
    template: str = Field(min_length=1)
    scale: Scale | None = None
    labels: dict[str, float] | None = None  # named verdicts, each worth a score (e.g. CORRECT: 1)
    pass_score: float | None = None  # a review marks a row wrong below this score
    max_tokens: int = Field(256, gt=0, le=8192)
    source: str = Field("", exclude=True)
    content_hash: str = Field("", exclude=True)

    @model_validator(mode="after")
    def _verdict_kind(self) -> Rubric:
        if self.protocol == "pairwise":
            if self.scale is not None or self.labels is not None:
                raise ValueError("a pairwise rubric's verdict is fixed ([[A]], [[B]], [[C]] for a tie); "
                                 "remove scale/labels")
            return self
        if (self.scale is None) == (self.labels is None):
            raise ValueError("a pointwise rubric needs exactly one of 'scale' or 'labels'")
        if self.labels is not None:
            if not self.labels:
                raise ValueError("labels: expected at least two named verdicts")
            bad = [k for k in self.labels if not k.strip() or any(c in k for c in "[]")]
            if bad:
                raise ValueError(f"labels: {bad[0]!r} is not a usable verdict name")
        return self

    @property
    def score_range(self) -> tuple[float, float]:
        """The lowest and highest score a verdict can carry."""
        if self.scale is not None:
            return float(self.scale.min), float(self.scale.max)
        values = list((self.labels or {}).values()) or [0.0]
        return min(values), max(values)

    def scale_text(self) -> str:
        if self.scale is not None:
            lines = [f"{p}: {text}" for p, text in sorted(self.scale.anchors.items())]
            return "\n".join(lines)
        return "\n".join(f"[[{k}]]" for k in self.labels or {})

    def render_pointwise(self, prompt: str, output: str, reference: str | None) -> tuple[str, str]:
        """(system, user) messages asking for one output's score."""
        low, high = self.score_range
        values = {"prompt": prompt, "output": output, "reference": reference or "",
                  "scale_text": self.scale_text(), "scale_min": _num(low), "scale_max": _num(high)}
        return _render(self.system, values), _render(self.template, values)

    def render_pairwise(self, prompt: str, output_a: str, output_b: str,
                        reference: str | None) -> tuple[str, str]:
        """(system, user) messages asking which of two outputs is better (A, B, or C for a tie)."""
        values = {"prompt": prompt, "output_a": output_a, "output_b": output_b,
                  "reference": reference or ""}
        return _render(self.system, values), _render(self.template, values)


def _num(x: float) -> str:
    return f"{x:g}"


@functools.lru_cache(maxsize=64)
def _compiled(template: str) -> Template:
    return _ENV.from_string(template)  # compiling costs milliseconds; a run renders thousands


def _render(template: str, values: dict[str, str]) -> str:
    return _compiled(template).render(**values) if template else ""


def _variables(template: str) -> set[str]:
    return set(meta.find_undeclared_variables(_ENV.parse(template))) if template else set()


def rubric_dirs_with_default(rubric_dirs: Sequence[Path | str] = ()) -> list[Path]:
    """Caller folders first (they may override a shipped rubric), then the repository's judges/."""
    return [Path(d) for d in rubric_dirs] + [DEFAULT_RUBRIC_DIR]


def available_rubrics(rubric_dirs: Sequence[Path | str] = ()) -> list[str]:
    # Files starting with "_" are data beside the rubrics (the price table), not rubrics.
    names = {p.stem for d in rubric_dirs_with_default(rubric_dirs) if d.is_dir()
             for p in d.iterdir() if p.suffix in SUFFIXES and not p.name.startswith("_")}
    return sorted(names)


def is_rubric_path(name_or_path: str) -> bool:
    """A rubric reference that names a file (a YAML suffix or a folder in it), not a rubric name."""
    return Path(name_or_path).suffix in SUFFIXES or "/" in name_or_path or "\\" in name_or_path


def find_rubric(name_or_path: str, rubric_dirs: Sequence[Path | str] = ()) -> Path:
    """The file a rubric reference names: an existing path, or ``<name>.yaml`` in a rubric folder."""
    direct = Path(name_or_path)
    if is_rubric_path(name_or_path):
        if os.path.isfile(direct):  # False, not an error, for an over-long name or a NUL
            return direct
        raise ConfigError(f"rubric file does not exist: {direct}", key="rubric")
    for folder in rubric_dirs_with_default(rubric_dirs):
        for suffix in SUFFIXES:
            candidate = folder / f"{name_or_path}{suffix}"
            if candidate.is_file():
                return candidate
    known = available_rubrics(rubric_dirs)
    near = difflib.get_close_matches(name_or_path, known, n=1)
    hint = f"did you mean {near[0]!r}?" if near else f"known: {', '.join(known) or 'none'}"
    raise ConfigError(f"unknown rubric {name_or_path!r}", key="rubric", hint=hint)


def load_rubric(name_or_path: str, rubric_dirs: Sequence[Path | str] = ()) -> Rubric:
    """Find, parse and validate a rubric; every problem is a ConfigError naming file and key."""
    path = find_rubric(name_or_path, rubric_dirs)
    try:
        raw = load_yaml_file(path, "rubric file", kind="rubric")
    except ConfigError as exc:
        raise ConfigError(f"not a valid YAML rubric: {exc.message}", path=path, key=exc.key) from None
    if not isinstance(raw, dict):
        raise ConfigError("expected a mapping at the top level", path=path)
    try:
        rubric = Rubric.model_validate(raw)
    except ValidationError as exc:
        raise _rubric_error(exc, path) from None
    _check_template(rubric, path)
    digest = sha256_text(json.dumps(rubric.model_dump(mode="json"), sort_keys=True))
    return rubric.model_copy(update={"source": str(path), "content_hash": digest})


def _check_template(rubric: Rubric, path: Path) -> None:
    allowed = POINTWISE_VARS if rubric.protocol == "pointwise" else PAIRWISE_VARS
    for key in ("system", "template"):
        try:
            used = _variables(getattr(rubric, key))
        except TemplateSyntaxError as exc:
            raise ConfigError(f"template syntax error on line {exc.lineno}: {exc.message}",
                              path=path, key=key) from None
        unknown = sorted(used - allowed)
        if unknown:
            raise ConfigError(f"unknown template variable {unknown[0]!r}", path=path, key=key,
                              hint=f"a {rubric.protocol} rubric knows: {', '.join(sorted(allowed))}")
    required = REQUIRED_VARS[rubric.protocol] | ({"reference"} if rubric.requires_reference else set())
    missing = sorted(required - _variables(rubric.template))
    if missing:
        raise ConfigError(f"the template never shows {missing[0]!r} to the judge", path=path,
                          key="template")


def _rubric_error(exc: ValidationError, path: Path) -> ConfigError:
    errors = exc.errors()
    # A misspelt key also shows up as a missing one; naming the typo explains both.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    key = ".".join(str(p) for p in err["loc"]) or None
    if err["type"] == "extra_forbidden":
        near = difflib.get_close_matches(str(err["loc"][-1]), list(Rubric.model_fields), n=1)
        return ConfigError("unknown key", path=path, key=key,
                           hint=f"did you mean {near[0]!r}?" if near else None)
    if err["type"] == "missing":
        return ConfigError("required key is missing", path=path, key=key)
    msg = str(err["msg"]).removeprefix("Value error, ")
    got: Any = err.get("input")
    text = msg if err["type"] == "value_error" else f"{msg}, got {brief(got)}"
    return ConfigError(text, path=path, key=key)

