"""What a metric is: its spec (inputs, per-item compute, aggregation, direction, paired test, flip rule),
the :class:`Score` a per-item compute may return, and the item it is handed.

A spec is everything the rest of the harness needs to know about a metric, so no
other module keeps its own list of names:

* ``reads``: what the per-item compute is called with, by parameter name
  (:data:`READABLE`); ``job``: which model pass produces its input: ``generation``
  (the model's output on an eval item), ``nll-eval`` / ``nll-general`` (token
  log-likelihoods: the perplexities) or ``mmlu`` (lm-eval's verdicts). Only
  ``generation`` metrics have a Python ``compute``; the others are fed by their job;
* ``aggregation``: ``mean`` (of 0/1 or 0-1 item scores), ``percent`` (the mean x 100,
  MMLU) or ``perplexity`` (exp of summed NLL over summed tokens);
* ``higher_is_better``;
* ``binary``: 0/1 per item. Deltas of binary metrics take McNemar's exact test and an
  item flips when it goes from right to wrong (regressed) or back (improved); other
  metrics take the paired randomization test and flip when the item's score moves by
  more than ``flip_margin`` (absolute; for perplexities a relative rise or fall of the
  item's own perplexity). ``None``: inferred from the values (every item 0 or 1).
"""

from __future__ import annotations

import hashlib
import inspect
import math
import numbers
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from harness.data.record import Record
from harness.score.exact import Normalizer
from harness.score.format import FormatChecks
from harness.score.stats import Transform, exp, identity, percent

Aggregation = Literal["mean", "percent", "perplexity"]
Job = Literal["generation", "nll-eval", "nll-general", "mmlu"]

FLIP_MARGIN = 0.1  # a 0-1 score moving by more than this flips the item
PPL_FLIP_RATIO = 0.10  # an item's own perplexity rising (falling) by more than 10% flips it
# The parameters a per-item compute may take, each filled from the item (or the suite's settings).
READABLE = ("output", "reference", "prompt", "item", "record", "meta", "settings", "stop")
_TRANSFORMS: dict[str, Transform] = {"mean": identity, "percent": percent, "perplexity": exp}
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Score:
    """A per-item score with the reason for it (written into ``items.jsonl`` ``reasons``)."""

    value: float | bool
    reason: str = ""


@dataclass(frozen=True)
class MetricItem:
    """The eval item a metric scores: ``prompt`` is the record's prompt side as plain text (not the
    chat-template rendering), ``reference`` its final assistant turn, ``record`` the whole record,
    ``stop`` the stop token id that ended the output (None: it ran to ``max_new_tokens``)."""

    item_id: str
    prompt: str
    reference: str
    record: Record | None = None
    stop: int | None = None

    @property
    def meta(self) -> Mapping[str, str]:
        return self.record.meta if self.record is not None else {}


@dataclass(frozen=True)
class MetricSettings:
    """The suite's scoring settings a metric may read (``settings`` parameter)."""

    normalizer: Normalizer = field(default_factory=Normalizer)
    formats: FormatChecks = field(default_factory=FormatChecks)


@dataclass(frozen=True)
class MetricSpec:
    """One metric, as the registry holds it (see the module docstring for each field)."""

    name: str
    compute: Callable[..., Any] | None = field(default=None, compare=False, repr=False)
    reads: tuple[str, ...] = ()
    job: Job = "generation"
    aggregation: Aggregation = "mean"
    higher_is_better: bool = True
    binary: bool | None = None
    flip_margin: float = FLIP_MARGIN
    selector: str = ""  # the score.metrics entry that selects it ("" -> its name)
    family: bool = False  # "mmlu/*": stands for every "mmlu/<subject>"
    row_key: str = ""  # the items.jsonl score holding its per-item value ("" -> its name)
    weight_key: str = ""  # the items.jsonl score holding its per-item weight (perplexity: tokens)
    origin: str = ""  # module:qualname of the compute
    code_hash: str = ""  # sha256 of the compute's source
    builtin: bool = False
    description: str = ""

    @property
    def transform(self) -> Transform:
        return _TRANSFORMS[self.aggregation]

    @property
    def perplexity(self) -> bool:
        return self.aggregation == "perplexity"

    @property
    def test(self) -> str:
        """The paired test its deltas take (``inferred`` decides per comparison from the values)."""
        return {True: "mcnemar", False: "randomization", None: "inferred"}[self.binary]

    @property
    def flip_rule(self) -> str:
        """When an item counts as regressed or improved, in words."""
        moved = f"score moved by more than {self.flip_margin:g}"
        if self.perplexity:
            return f"own perplexity moved by more than {self.flip_margin:.0%}"
        rules = {True: "right <-> wrong", False: moved, None: f"right <-> wrong when 0/1, else {moved}"}
        return rules[self.binary]

    @property
    def identity(self) -> str:
        """``module:function@sha256`` of the code that computes it (results ``hashes``)."""
        return f"{self.origin}@{self.code_hash}"

    def score(self, output: str, item: MetricItem, settings: MetricSettings) -> Score:
        """The per-item score of ``output`` on ``item`` (TypeError/ValueError for a bad return)."""
        if self.compute is None:
            raise TypeError(f"metric {self.name!r} is computed by its {self.job} job, not per output")
        given = {"output": output, "reference": item.reference, "prompt": item.prompt, "item": item,
                 "record": item.record, "meta": item.meta, "settings": settings, "stop": item.stop}
        return as_score(self.compute(**{k: given[k] for k in self.reads}))

    def row_value(self, item_id: str, scores: Mapping[str, float]) -> tuple[float, float | None] | None:
        """Its (num, den) on one items.jsonl row, as scoring produced them; None when the row lacks it."""
        if self.family and not item_id.startswith(self.name + "/"):
            return None
        value = scores.get(self.row_key or self.name)
        if value is None:
            return None
        if not self.perplexity:
            return float(value), None
        tokens = scores.get(self.weight_key)
        return (math.log(value) * tokens, tokens) if tokens else None


def as_score(result: Any) -> Score:
    """A compute's return value as a :class:`Score` with a finite float value."""
    score = result if isinstance(result, Score) else Score(result)
    value = score.value
    if isinstance(value, bool | np.bool_):
        return Score(float(value), str(score.reason))
    if not isinstance(value, numbers.Real):
        raise TypeError(f"returned {type(value).__name__}; expected a float, a bool or a harness.Score")
    if not math.isfinite(float(value)):
        raise ValueError(f"returned {value!r}; a score must be a finite number")
    return Score(float(value), str(score.reason))


def reads_of(fn: Callable[..., Any]) -> tuple[str, ...]:
    """The parameters ``fn`` takes, checked against :data:`READABLE` (TypeError naming the bad one)."""
    params = inspect.signature(fn).parameters.values()
    reads = []
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(f"metric {fn.__name__!r}: *args/**kwargs are not supported; name what it reads "
                            f"({', '.join(READABLE)})")
        if p.name in READABLE:
            reads.append(p.name)
        elif p.default is p.empty:
            raise TypeError(f"metric {fn.__name__!r}: parameter {p.name!r} is not one it can be given "
                            f"({', '.join(READABLE)})")
    if "output" not in reads:
        raise TypeError(f"metric {fn.__name__!r} must take the model's output (a parameter named 'output')")
    return tuple(reads)


def returns_bool(fn: Callable[..., Any]) -> bool:
    annotation = inspect.signature(fn).return_annotation
    return annotation is bool or annotation == "bool"


def code_hash(fn: Callable[..., Any]) -> str:
    """sha256 of ``fn``'s source; of its bytecode and constants when the source is not available."""
    try:
        text = inspect.getsource(fn)
    except (OSError, TypeError):
        code = getattr(fn, "__code__", None)
        text = f"{code.co_code.hex()}|{code.co_consts!r}" if code is not None else repr(fn)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


__all__ = ["FLIP_MARGIN", "NAME", "PPL_FLIP_RATIO", "READABLE", "Aggregation", "Job", "MetricItem",
           "MetricSettings", "MetricSpec", "Score", "as_score", "code_hash", "reads_of", "returns_bool"]
