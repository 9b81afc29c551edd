"""The suite's schema: pydantic models for every section of a suite file, and their validators.

Every model is frozen and refuses unknown keys. Loading a file, turning
validation errors into key paths with hints and checking paths is
:mod:`harness.suite`'s; relative paths resolve against the suite file's folder
(:meth:`SuiteConfig.resolve`).
"""

from __future__ import annotations

import difflib
import itertools
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from harness.errors import brief
from harness.judge.config import JudgeConfig


class _Strict(BaseModel):
    # No inf or nan anywhere: `learning_rate: .inf` passes `gt=0` and trains to a loss of 0.0000.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class CloneTemplateConfig(_Strict):
    """``chat_template: {clone: DIR_OR_FILE}``: another model's template and special tokens."""

    clone: str  # a tokenizer folder or a tokenizer_config.json; relative to the suite file
    resize_to_multiple_of: int | None = Field(64, gt=0)  # embedding rows are rounded up to this


class BaseModelConfig(_Strict):
    path: str
    load_in_4bit: bool = True
    # None: the tokenizer's own template ("plain" when it has none); "plain"; a .jinja path;
    # or {clone: DIR_OR_FILE} (see harness.models.template_clone).
    chat_template: str | CloneTemplateConfig | None = None
    stop_token_ids: list[int] = Field(default_factory=list)

    @field_validator("chat_template", mode="before")
    @classmethod
    def _clone_form(cls, value: Any) -> Any:
        # One clear error for a mapping, instead of pydantic's per-union-member list.
        if not isinstance(value, dict):
            return value
        try:
            return CloneTemplateConfig.model_validate(value)
        except ValidationError as exc:
            # An unknown key says more than the "clone" it displaced being missing.
            err = min(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
            where = ".".join(str(p) for p in err["loc"]) or "clone"
            what = "unknown key" if err["type"] == "extra_forbidden" else _plain(err["msg"])
            raise ValueError(f".{where}: {what} (write chat_template: {{clone: DIR_OR_FILE}})") from None


class DataConfig(_Strict):
    train: str
    eval: str
    general: str | None = None
    format: str = "auto"


class ReviewConfig(_Strict):
    """LLM review of a sample of training rows (synthetic-data review rubric)."""

    judge: str  # a name in the suite's `judges:`
    fraction: float = Field(0.1, gt=0, le=1)
    seed: int = 0


# The length training cuts sequences at (sweep.max_seq_len), which the template audit's
# truncation checks measure against (audit.max_seq_len, `harness audit --max-seq-len`).
MaxSeqLen = Annotated[int, Field(gt=8)]


class AuditKnobs(_Strict):
    """The audit parameters a suite's ``audit:`` section sets; :class:`harness.audit.AuditParams` adds
    the others. Defined once, here, so the suite, the library and the CLI share bounds and defaults."""

    near_duplicate_threshold: float = Field(0.8, gt=0, le=1)  # Jaccard of word 5-gram shingles
    ngram: int = Field(13, ge=3)  # leakage / contamination n-gram, in words
    max_seq_len: MaxSeqLen | None = None  # the truncation checks' limit (a suite's default: sweep's)
    # Paraphrase leakage and duplicates with all-MiniLM-L6-v2 (extra "semantic"; slow on CPU).
    semantic: bool = False
    # Cosine of prompt (response) embeddings; 0.78: the best Youden index on MRPC with PAWS label-0
    # false alarms under 10% (bench/semantic_pairs.py).
    semantic_threshold: float = Field(0.78, gt=0, le=1)
    # Where the scans and the near-duplicate search run: this process and its workers, or Ray Data on a
    # Ray cluster (extra "ray"); the cluster is ray_address, else RAY_ADDRESS, else a local instance.
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None

    @field_validator("ray_address")
    @classmethod
    def _address_needs_ray(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("executor") != "ray":
            raise ValueError("a Ray address needs the ray executor (executor: ray, --executor ray)")
        return value


class CleanConfig(_Strict):
    """``audit.clean``: write a cleaned copy of the data (see harness.audit.clean_policy for the policy)."""

    dir: str | None = None  # default: <run folder>/clean; a relative path resolves against this file
    force: bool = False
    drop: list[str] | None = None
    also_drop: list[str] = Field(default_factory=list)
    keep: Literal["first", "longest", "shortest"] = "first"
    leak_side: Literal["train", "eval"] = "train"
    eval: bool = False
    verify: bool = True

    @model_validator(mode="after")
    def _names(self) -> CleanConfig:
        from harness.audit.clean_policy import CleanPolicy

        for key in ("drop", "also_drop"):
            for i, name in enumerate(getattr(self, key) or []):
                try:
                    CleanPolicy(drop=(name,))
                except ValueError as exc:
                    raise ValueError(f".{key}[{i}]: {_first_error(exc)}") from None
        return self

    def policy(self) -> Any:
        from harness.audit.clean_policy import CleanPolicy

        return CleanPolicy(drop=tuple(self.drop) if self.drop is not None else None,
                           also_drop=tuple(self.also_drop), keep=self.keep, leak_side=self.leak_side,
                           eval=self.eval, verify=self.verify)


def _first_error(exc: ValueError) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    text = next((ln for ln in lines if "unknown" in ln or "expected" in ln), lines[-1] if lines else str(exc))
    return re.sub(r"\s*\[type=.*$", "", text).removeprefix("Value error, ")


class AuditConfig(AuditKnobs):
    enabled: bool = True
    benchmarks: dict[str, str] = Field(default_factory=dict)
    templates: bool = True
    serving_template: str | None = None  # a .jinja file, an Ollama Modelfile or a Go template
    review: ReviewConfig | None = None
    checks: list[str] = Field(default_factory=list)  # per-row checks to add: names or module:function
    check_params: dict[str, dict[str, Any]] = Field(default_factory=dict)  # check name -> its params
    clean: CleanConfig | None = None


TRIAL_KEYS = (
    "r",
    "lora_alpha",
    "target_modules",
    "lora_dropout",
    "use_dora",
    "learning_rate",
    "max_steps",
    "batch_size",
    "warmup_ratio",
    "weight_decay",
    "seed",
    "trainable_tokens",
)


class TrialSpec(_Strict):
    """One training configuration (defaults are the sweep's)."""

    name: str | None = None
    r: int = Field(8, gt=0)
    lora_alpha: float = Field(16, gt=0)
    target_modules: str | list[str] = "all-linear"
    lora_dropout: float = Field(0.0, ge=0, lt=1)
    use_dora: bool = False
    learning_rate: float = Field(2e-3, gt=0)
    max_steps: int = Field(100, gt=0)
    batch_size: int = Field(16, gt=0)
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    seed: int = 0
    # Vocabulary tokens whose embedding rows train too (peft trainable_token_indices): for tokens
    # the base never learned, e.g. new special tokens or unused byte-fallback pieces.
    trainable_tokens: list[str] = Field(default_factory=list)

    def label(self) -> str:
        if self.name:
            return self.name
        mods = self.target_modules if isinstance(self.target_modules, str) else "+".join(self.target_modules)
        return f"r{self.r}-a{self.lora_alpha:g}-{mods}-lr{self.learning_rate:g}"


class SweepConfig(_Strict):
    defaults: dict[str, Any] = Field(default_factory=dict)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    trials: list[dict[str, Any]] = Field(default_factory=list)
    eval_every: int = Field(50, gt=0)
    max_seq_len: MaxSeqLen = 256
    packing: bool = False
    gradient_checkpointing: bool | Literal["auto"] = "auto"

    @field_validator("grid")
    @classmethod
    def _grid_keys(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in grid.items():
            _check_trial_key(key, "")  # "" -> ".key: ...": the loader appends it to the key path
            if not isinstance(values, list) or not values:
                raise ValueError(f".{key}: expected a non-empty list")
        return grid

    def expand(self) -> list[TrialSpec]:
        """The grid's product (tied values such as ``lora_alpha: ["2*r"]`` resolved) plus ``trials``."""
        specs: list[TrialSpec] = []
        free = {k: v for k, v in self.grid.items()}
        self._check_grid_values()
        if free:
            keys = list(free)
            for combo in itertools.product(*(free[k] for k in keys)):
                values = dict(zip(keys, combo, strict=True))
                specs.append(self._spec({**self.defaults, **_resolve_ties(values)}, f"sweep.grid {values}"))
        for i, trial in enumerate(self.trials):
            for key in trial:
                if key != "name":
                    _check_trial_key(key, f"sweep.trials[{i}]")
            specs.append(self._spec({**self.defaults, **_resolve_ties(dict(trial))}, f"sweep.trials[{i}]"))
        if not specs:
            specs.append(self._spec(dict(self.defaults), "sweep.defaults"))
        labels = [s.label() for s in specs]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise ValueError(f"two trials share the name {dupes[0]!r}; give them distinct names")
        return specs

    def _check_grid_values(self) -> None:
        """Validate each grid value on its own, so an error names ``sweep.grid.r[2]``."""
        for key, values in self.grid.items():
            for i, value in enumerate(values):
                if isinstance(value, str) and _TIE.match(value):
                    continue
                try:
                    TrialSpec.model_validate({**self.defaults, key: value})
                except ValidationError as exc:
                    err = next((e for e in exc.errors() if e["loc"] and e["loc"][0] == key), exc.errors()[0])
                    why = f"{_plain(err['msg'])}, got {brief(value)}"
                    raise ValueError(f"sweep.grid.{key}[{i}]: {why}") from None

    @staticmethod
    def _spec(values: dict[str, Any], where: str) -> TrialSpec:
        try:
            return TrialSpec.model_validate(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            at = f"{where}: {loc}" if " " in where else f"{where}.{loc}"  # a key path where there is one
            raise ValueError(f"{at}: {_plain(err['msg'])}, got {brief(err.get('input'))}") from None


def _plain(msg: str) -> str:
    """pydantic's wording, in the words a suite author uses."""
    table = {
        "Input should be a valid integer": "expected an integer",
        "Input should be greater than 0": "expected a positive number",
        "Input should be a valid number": "expected a number",
        "Input should be a valid boolean": "expected true or false",
        "Input should be a finite number": "expected a finite number",
    }
    for prefix, plain in table.items():
        if msg.startswith(prefix):
            return plain
    return msg


_TIE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*\*\s*([a-z_]+)\s*$")


def _resolve_ties(values: dict[str, Any]) -> dict[str, Any]:
    """``"2*r"`` -> 2 * values["r"]: alpha tied to rank is the common case."""
    out = dict(values)
    for key, value in values.items():
        if isinstance(value, str) and (m := _TIE.match(value)):
            factor, other = float(m.group(1)), m.group(2)
            if other not in values or not isinstance(values[other], int | float):
                raise ValueError(f"{key}: {value!r} refers to {other!r}, which is not a number here")
            out[key] = factor * values[other]
    return out


def _check_trial_key(key: str, where: str) -> None:
    if key not in TRIAL_KEYS:
        near = difflib.get_close_matches(key, TRIAL_KEYS, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else f"; known: {', '.join(TRIAL_KEYS)}"
        raise ValueError(f"{where}.{key}: unknown trial parameter{hint}")


class MMLUConfig(_Strict):
    path: str
    limit: int | None = Field(None, gt=0)
    subjects: list[str] = Field(default_factory=list)
    batch_size: int = Field(16, gt=0)
    num_fewshot: int = Field(0, ge=0)


class ScoreConfig(_Strict):
    max_new_tokens: int = Field(64, gt=0)
    batch_size: int = Field(16, gt=0)
    metrics: list[str] = Field(default_factory=lambda: ["exact_match", "perplexity"])
    json_keys: list[str] = Field(default_factory=list)
    json_schema: dict[str, Any] | None = None
    regex: str | None = None
    normalize_punctuation: bool = False
    answer_regex: str | None = None
    mmlu: MMLUConfig | None = None
    bootstrap: int = Field(2000, ge=100)
    confidence: float = Field(0.95, gt=0.5, lt=1)
    select: str = "best"
    primary_metric: str = "exact_match"
    # Noise floor: score the held-out set this many times, sampling under seeds seed, seed+1...
    # Gates then use the mean, must clear their threshold by noise_z standard errors of it,
    # and the report shows in how many repeats each gate held (pass^N).
    repeats: int = Field(1, ge=1, le=100)
    noise_z: float = Field(2.0, ge=0)
    cache: bool = True
    # How much worse than the base a metric may get before its comparison item fails
    # (in the metric's own units: points for mmlu, perplexity for the perplexities).
    tolerance: dict[str, float] = Field(default_factory=dict)
    # Generation is greedy by default; sampled outputs are cached only when cache_sampled is set.
    temperature: float = Field(0.0, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)
    seed: int = 0
    cache_sampled: bool = False

    @model_validator(mode="after")
    def _repeats_sample(self) -> ScoreConfig:
        if self.repeats > 1 and self.temperature <= 0:
            raise ValueError(
                f".repeats: {self.repeats} repeats need sampling (set score.temperature > 0); "
                "greedy decoding gives the same outputs every time"
            )
        return self


class MLflowTracking(_Strict):
    # None: $MLFLOW_TRACKING_URI, else a file store in the run's output folder (<out>/mlruns).
    tracking_uri: str | None = None
    experiment: str = "finetune-harness"
    run_name: str | None = None  # None: the suite name


class WandbTracking(_Strict):
    project: str = "finetune-harness"
    entity: str | None = None
    mode: Literal["offline", "online", "disabled"] = "offline"
    dir: str | None = None  # None: $WANDB_DIR, else the run's output folder
    run_name: str | None = None  # None: the suite name


class TrackingConfig(_Strict):
    """Optional export of a run's results; each backend is on only when its section is present."""

    mlflow: MLflowTracking | None = None
    wandb: WandbTracking | None = None

    @field_validator("mlflow", "wandb", mode="before")
    @classmethod
    def _bare_key_enables(cls, value: Any) -> Any:
        # Runs only for keys that are present: a bare `mlflow:` (YAML null) means "on, with defaults".
        return {} if value is None else value

    @property
    def enabled(self) -> bool:
        return self.mlflow is not None or self.wandb is not None

    def resolved(self, folder: Path) -> TrackingConfig:
        """Relative file-store paths and the W&B dir resolved against ``folder`` (the suite's)."""
        update: dict[str, Any] = {}
        if self.mlflow is not None and self.mlflow.tracking_uri:
            uri = _file_uri(self.mlflow.tracking_uri, folder)
            update["mlflow"] = self.mlflow.model_copy(update={"tracking_uri": uri})
        if self.wandb is not None and self.wandb.dir:
            p = Path(self.wandb.dir)
            update["wandb"] = self.wandb.model_copy(update={"dir": str(p if p.is_absolute() else folder / p)})
        return self.model_copy(update=update)


def _file_uri(uri: str, folder: Path) -> str:
    """A plain path or ``file:`` URI as an absolute ``file://`` URI; any other scheme unchanged."""
    from urllib.parse import urlparse

    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        return uri
    p = Path(parsed.path)
    return (p if p.is_absolute() else (folder / p).resolve()).as_uri()


class BaselineConfig(_Strict):
    """Where the accepted baseline's lockfile is, and what its absence means for ``baseline.*`` gates."""

    # None: <run folder>/../baseline.lock.json, where `harness baseline accept DIR` writes by default;
    # a relative path resolves against the suite file's folder.
    path: str | None = None
    # False: with no lockfile yet (a first run) baseline gates pass with a note saying so.
    # True: they fail, naming the path and the command that creates it (set it once one is committed).
    required: bool = False


class SuiteConfig(_Strict):
    name: str
    description: str = ""
    base: BaseModelConfig
    data: DataConfig
    audit: AuditConfig = AuditConfig()
    sweep: SweepConfig = SweepConfig()
    score: ScoreConfig = ScoreConfig()
    judges: list[JudgeConfig] = Field(default_factory=list)
    gates: list[str] = Field(default_factory=list)
    baseline: BaselineConfig = BaselineConfig()
    tracking: TrackingConfig = TrackingConfig()
    source: str = Field("", exclude=True)

    @model_validator(mode="after")
    def _metrics_known(self) -> SuiteConfig:
        from harness.score.metrics import MetricError, metric_registry

        for i, m in enumerate(self.score.metrics):
            try:  # a module:function is imported here, so a broken one fails before any work
                metric_registry().select(m, folder=self.folder)
            except MetricError as exc:
                raise ValueError(f"score.metrics[{i}]: {exc}") from None
        self._audit_checks_known()
        if "mmlu" in self.score.metrics and self.score.mmlu is None:
            raise ValueError("score.mmlu: the metric 'mmlu' needs score.mmlu.path")
        names = [j.name for j in self.judges]
        if self.audit.review and self.audit.review.judge not in names:
            raise ValueError(f"audit.review.judge: {self.audit.review.judge!r} is not in judges ({names})")
        return self

    def _audit_checks_known(self) -> None:
        """``audit.checks`` resolve (``module:function`` also from the suite's folder); params fit."""
        from harness.audit.checks import AuditCheckError, resolve, validate

        for i, ref in enumerate(self.audit.checks):
            try:
                resolve(ref, self.folder)
            except AuditCheckError as exc:
                raise ValueError(f"audit.checks[{i}]: {exc.message}") from None
        for name, values in self.audit.check_params.items():
            try:
                validate(self.audit.checks, {name: values}, self.folder)
            except AuditCheckError as exc:
                raise ValueError(f"audit.check_params.{exc.message}") from None

    @property
    def folder(self) -> Path:
        return Path(self.source).parent

    def resolve(self, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else (self.folder / p)
