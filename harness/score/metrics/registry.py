"""The metric registry: built-ins and users' metrics by name, the ``@metric`` decorator, and lookups
that fail with the known names and a did-you-mean.

Three ways in, one registry: ``@metric`` on a function registers it on import; a suite's
``score.metrics`` entry ``module:function`` imports the module (from the Python path, else from the
suite's folder or the current directory) and takes the decorated function it names; an installed
package may list metrics under the entry point group ``harness.metrics`` (name = ``module:object``).
The built-ins (:mod:`harness.score.metrics.builtin`) register through the same calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

from harness import plugins
from harness.errors import MetricError
from harness.score.metrics.spec import (
    FLIP_MARGIN,
    NAME,
    Aggregation,
    MetricSpec,
    code_hash,
    reads_of,
    returns_bool,
)

F = TypeVar("F", bound=Callable[..., Any])
ATTR = "__harness_metric__"  # where @metric leaves the spec on the function it decorates
ENTRY_POINTS = "harness.metrics"
# Words the gate language or items.jsonl already use: a metric by one of these names could not be read.
RESERVED = frozenset({"audit", "baseline", "judge", "delta", "regressed", "improved", "generation"})
UserAggregation = Literal["mean", "percent"]  # "perplexity" needs per-item token weights only a job has
KIND = plugins.Kind(shape="module:function", example="mypkg.metrics:sql_executes", plural="metrics",
                    decorator="@metric", marker=ATTR, error=MetricError)


class UnknownMetricError(MetricError, LookupError):
    """No metric (or ``score.metrics`` selector) by that name."""


class DuplicateMetricError(MetricError):
    """A second, different metric under a name that is taken."""


def unknown_message(name: str, known: Iterable[str], *, tail: str = "", near: str | None = None) -> str:
    """lm-eval style: ``unknown metric 'x'; did you mean 'y'? Available: a, b``."""
    return plugins.unknown_message("metric", name, sorted(set(known)), tail=tail, near=near)


def spec_from_function(fn: Callable[..., Any], *, name: str | None = None, higher_is_better: bool = True,
                       binary: bool | None = None, aggregation: Aggregation = "mean",
                       flip_margin: float = FLIP_MARGIN, description: str | None = None) -> MetricSpec:
    """The spec of a per-item function (TypeError for a signature it cannot be called with)."""
    doc = (fn.__doc__ or "").strip().splitlines()
    return MetricSpec(
        name=name or fn.__name__, compute=fn, reads=reads_of(fn), aggregation=aggregation,
        higher_is_better=higher_is_better, binary=True if binary is None and returns_bool(fn) else binary,
        flip_margin=flip_margin, origin=f"{fn.__module__}:{fn.__qualname__}", code_hash=code_hash(fn),
        description=description if description is not None else (doc[0] if doc else ""))


def as_spec(obj: Any, where: str) -> MetricSpec:
    """A registry entry from what a reference names: a spec, or a function ``@metric`` decorated."""
    spec = plugins.declared(obj, MetricSpec, ATTR)
    if spec is not None:
        return spec
    raise MetricError(f"{where} is not a metric (a {type(obj).__name__}; decorate a function with "
                      f"@harness.metric)")


def _same(a: MetricSpec, b: MetricSpec) -> bool:
    """The same metric registered again: same function, or the same code imported under another module."""
    qual = a.origin.partition(":")[2] == b.origin.partition(":")[2]
    return a.origin == b.origin or (qual and a.code_hash == b.code_hash)


def _family_prefix(name: str) -> str:
    return name.split("/", 1)[0] + "/"


class MetricRegistry:
    """Metric specs by name, in registration order; selectors (``score.metrics`` entries) to specs."""

    def __init__(self, entry_point_group: str | None = ENTRY_POINTS) -> None:
        self.entry_point_group = entry_point_group
        self._specs: dict[str, MetricSpec] = {}  # a family ("mmlu/<subject>") is kept under "mmlu/"
        self._eps = plugins.EntryPointGroup(entry_point_group, MetricError)  # scanned once, again on a miss

    def register(self, spec: MetricSpec) -> MetricSpec:
        """Add ``spec``; registering the same metric again replaces it, a different one is refused."""
        key = _family_prefix(spec.name) if spec.family else spec.name
        if not spec.builtin:
            self._check_name(spec)
        existing = self._specs.get(key)
        if existing is not None and not _same(existing, spec):
            raise DuplicateMetricError(
                f"metric {spec.name!r} is already registered by {existing.origin}; {spec.origin} cannot "
                "take the name", hint="rename one of them, or pass name=... to @metric")
        self._specs[key] = spec
        return spec

    def _check_name(self, spec: MetricSpec) -> None:
        if not NAME.fullmatch(spec.name):
            raise MetricError(f"metric name {spec.name!r}: use letters, digits and underscores "
                              "(gates read it as a word)")
        taken = RESERVED | {s.selector or s.name for s in self.specs() if s.builtin}
        taken |= {k for s in self.specs() if s.builtin for k in (s.row_key, s.weight_key) if k}
        builtin = self._specs.get(spec.name)
        if spec.name in taken or (builtin is not None and builtin.builtin):
            raise DuplicateMetricError(f"metric name {spec.name!r} is taken by the harness",
                                       hint="pass another name=... to @metric")

    def metric(self, fn: F | None = None, /, **options: Any) -> Any:
        """``@registry.metric`` / ``@registry.metric(...)``: :func:`metric` into this registry."""
        aggregation = options.get("aggregation", "mean")
        if aggregation not in ("mean", "percent"):
            raise TypeError(f"@metric aggregation={aggregation!r}: expected 'mean' or 'percent'")

        def wrap(f: F) -> F:
            setattr(f, ATTR, self.register(spec_from_function(f, **options)))
            return f
        return wrap(fn) if fn is not None else wrap

    def specs(self) -> list[MetricSpec]:
        return list(self._specs.values())

    def selectors(self) -> list[str]:
        """What a suite may list in ``score.metrics`` (besides ``module:function``), in order."""
        return list(dict.fromkeys(s.selector or s.name for s in self._specs.values()))

    def names(self) -> list[str]:
        return [s.name for s in self._specs.values()]

    def table(self) -> str:
        """The registered metrics as a Markdown table (README's list is this, checked by a test)."""
        tests = {"mcnemar": "McNemar exact", "randomization": "paired randomization",
                 "inferred": "McNemar exact when 0/1, else paired randomization"}
        rows = ["| selector | metric | value | better | delta test | item flipped when |", "|---" * 6 + "|"]
        for s in self._specs.values():
            rows.append(f"| `{s.selector or s.name}` | `{s.name}` | {s.description} | "
                        f"{'higher' if s.higher_is_better else 'lower'} | {tests[s.test]} | {s.flip_rule} |")
        return "\n".join(rows)

    def get(self, name: str) -> MetricSpec:
        """The spec of a metric as results name it (``mmlu/<subject>`` too); UnknownMetricError if none."""
        spec = self._specs.get(name)
        if spec is None and "/" in name:
            family = self._specs.get(_family_prefix(name))
            spec = replace(family, name=name) if family is not None else None
        if spec is None:
            spec = self._from_entry_point(name)
        if spec is None:
            raise UnknownMetricError(unknown_message(name, self.names()))
        return spec

    def find(self, name: str) -> MetricSpec | None:
        """:meth:`get`, or None: for readers of results, whose metrics' code may not be importable here."""
        try:
            return self.get(name)
        except MetricError:
            return None

    def higher_is_better(self, name: str) -> bool:
        """Its direction; higher for a metric this process does not know (the common case)."""
        spec = self.find(name)
        return spec.higher_is_better if spec is not None else True

    def select(self, selector: str, *, folder: Path | None = None) -> tuple[MetricSpec, ...]:
        """The specs a ``score.metrics`` entry selects: a selector name (``json`` -> ``json_valid``), a
        registered or entry-point metric, or ``module:function`` (imported, searching ``folder`` and the
        current directory after the Python path)."""
        if ":" in selector:
            search = [*([folder] if folder is not None else []), Path.cwd()]
            return (self.register(as_spec(plugins.load_reference(selector, KIND, search), repr(selector))),)
        chosen = tuple(s for s in self._specs.values() if (s.selector or s.name) == selector)
        if chosen:
            return chosen
        self._eps.refresh()  # a package installed since the last look
        spec = self._from_entry_point(selector)
        if spec is not None:
            return (spec,)
        names = [*self.selectors(), *self._eps.names()]
        # A metric's own name where its selector is meant ("json_valid" for "json"): suggest the selector.
        by = next((s.selector for s in self._specs.values() if s.name == selector and s.selector), None)
        raise UnknownMetricError(unknown_message(selector, names, near=by,
                                                 tail=" (or module:function for your own)"))

    def _from_entry_point(self, name: str) -> MetricSpec | None:
        if name not in self._eps:
            return None
        spec = as_spec(self._eps.load(name), self._eps.where(name))
        return self.register(spec if spec.name == name else replace(spec, name=name, selector=""))


_DEFAULT = MetricRegistry()


def metric_registry() -> MetricRegistry:
    """The process-wide registry: the built-ins, and every metric registered since."""
    return _DEFAULT


@overload
def metric(fn: F, /) -> F: ...
@overload
def metric(*, name: str | None = None, higher_is_better: bool = True, binary: bool | None = None,
           aggregation: UserAggregation = "mean", flip_margin: float = FLIP_MARGIN,
           description: str | None = None, registry: MetricRegistry | None = None) -> Callable[[F], F]: ...
def metric(fn: F | None = None, /, *, registry: MetricRegistry | None = None, **options: Any) -> Any:
    """Register a per-item metric function (``@metric`` or ``@metric(higher_is_better=..., ...)``).

    The function takes any of ``output`` (required), ``reference``, ``prompt``, ``item``
    (:class:`~harness.score.metrics.spec.MetricItem`), ``record``, ``meta``, ``settings`` by name and
    returns a float, a bool or a :class:`~harness.score.metrics.spec.Score` (value and reason).
    ``binary``: 0/1 scores (McNemar's test, right/wrong flips); None infers it from a ``-> bool``
    annotation, else from the values. ``aggregation``: ``mean`` or ``percent``. The function is
    returned unchanged (callable in the user's own tests).
    """
    target = registry or _DEFAULT
    return target.metric(fn, **options) if fn is not None else target.metric(**options)


__all__ = ["ATTR", "ENTRY_POINTS", "DuplicateMetricError", "MetricRegistry", "UnknownMetricError", "as_spec",
           "metric", "metric_registry", "spec_from_function", "unknown_message"]
