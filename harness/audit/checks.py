"""The registry of per-row audit checks: named functions over a split's rows that return findings.

A check is an :class:`AuditCheck`: a name, a severity, default ``params``, the
fields it reads, whether a row's verdict depends on that row alone
(``scope="row"``, so it can run chunk by chunk) or on the whole set
(``scope="set"``), and whether the default clean policy drops the rows it
flags. Its function takes a :class:`harness.audit.rows.Rows` view and the
effective params and returns :class:`~harness.audit.rows.Hit` s (one flagged
row each) or ready :class:`~harness.results.Finding` s.

The built-ins (``harness.audit.defects``) register with :func:`register`, the
same call a user makes. A user's check is found three ways, all resolved by
:func:`resolve`: a registered name, an installed entry point in the group
``harness.audit_checks``, or ``module:function`` (a suite's ``audit.checks:``
list). Unknown names fail with the known ones and a did-you-mean.
"""

from __future__ import annotations

import difflib
import importlib
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Union

from harness.results import Finding, Severity

if TYPE_CHECKING:
    from harness.audit.rows import CheckOutput, Hit, Rows

ENTRY_POINT_GROUP = "harness.audit_checks"
Scope = Literal["row", "set"]
CheckReturn = Union["CheckOutput", Iterable[Union["Hit", Finding]]]
CheckFn = Callable[["Rows", Mapping[str, Any]], CheckReturn]


@dataclass(frozen=True)
class AuditCheck:
    """A named per-row check; calling it runs ``fn`` with the defaults overridden by ``params``."""

    name: str
    fn: CheckFn
    severity: Severity = "warning"
    params: Mapping[str, Any] = field(default_factory=dict)
    fields: tuple[str, ...] = ("response",)
    scope: Scope = "row"
    drops: bool = False  # in the default clean policy
    description: str = ""
    flagged_as: str = "are flagged"  # "N more rows {flagged_as}" when findings are capped

    def effective(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The defaults with ``overrides`` applied; unknown keys and wrong types are ValueErrors."""
        out = dict(self.params)
        for key, value in (overrides or {}).items():
            if key not in self.params:
                raise ValueError(f"{key}: unknown parameter of check {self.name!r}{_hint(key, self.params)}"
                                 f" (known: {', '.join(self.params) or 'none'})")
            out[key] = _typed(self.name, key, self.params[key], value)
        return out

    def __call__(self, rows: Rows, params: Mapping[str, Any] | None = None) -> CheckReturn:
        return self.fn(rows, self.effective(params))


def _typed(check: str, key: str, default: Any, value: Any) -> Any:
    """``value`` when it has the default's type (ints pass for floats, lists for tuples)."""
    if default is None or (isinstance(value, type(default)) and not (
            isinstance(value, bool) and not isinstance(default, bool))):
        return value
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, tuple) and isinstance(value, list):
        return tuple(value)
    raise ValueError(f"{key}: expected {type(default).__name__} for check {check!r}, "
                     f"got {type(value).__name__} {value!r}")


def _hint(name: str, known: Iterable[str]) -> str:
    near = difflib.get_close_matches(name, sorted(known), n=1)
    return f"; did you mean {near[0]!r}?" if near else ""


def audit_check(name: str | None = None, *, severity: Severity = "warning",
                params: Mapping[str, Any] | None = None, fields: tuple[str, ...] = ("response",),
                scope: Scope = "row", drops: bool = False, description: str | None = None,
                flagged_as: str = "are flagged") -> Callable[[CheckFn], AuditCheck]:
    """Decorator: make an :class:`AuditCheck` of a function (it does not register it)."""

    def wrap(fn: CheckFn) -> AuditCheck:
        doc = (fn.__doc__ or "").strip().splitlines()
        return AuditCheck(name=name or fn.__name__, fn=fn, severity=severity,
                          params=MappingProxyType(dict(params or {})), fields=tuple(fields), scope=scope,
                          drops=drops, description=description or (doc[0] if doc else ""),
                          flagged_as=flagged_as)

    return wrap


class _Registry:
    """Checks by name, in registration order; built-ins and entry points load on first use."""

    def __init__(self) -> None:
        self.checks: dict[str, AuditCheck] = {}
        self.builtin: list[str] = []
        self._loaded = False
        self._lock = threading.RLock()

    def load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            importlib.import_module("harness.audit.defects")  # registers the built-ins
            self.builtin = list(self.checks)
            _load_entry_points()


REGISTRY = _Registry()


def register(check: AuditCheck | CheckFn, *, name: str | None = None, replace_existing: bool = False,
             ) -> AuditCheck:
    """Make ``check`` known by its name (a plain function becomes a warning check named after it)."""
    spec = as_check(check, name)
    with REGISTRY._lock:
        if spec.name in REGISTRY.checks and not replace_existing and REGISTRY.checks[spec.name] is not spec:
            raise ValueError(f"an audit check named {spec.name!r} is already registered")
        REGISTRY.checks[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Forget a non-built-in check (tests and notebooks re-registering one)."""
    REGISTRY.load()
    if name in REGISTRY.builtin:
        raise ValueError(f"{name!r} is a built-in audit check")
    REGISTRY.checks.pop(name, None)


def as_check(obj: Any, name: str | None = None) -> AuditCheck:
    if isinstance(obj, AuditCheck):
        return replace(obj, name=name) if name and name != obj.name else obj
    if callable(obj):
        return audit_check(name or getattr(obj, "__name__", None))(obj)
    raise ValueError(f"{name or obj!r} is not an audit check (expected a function or an AuditCheck)")


def _load_entry_points() -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in REGISTRY.checks:
            continue  # a built-in or an earlier registration wins; the name is taken
        try:
            REGISTRY.checks[ep.name] = as_check(ep.load(), ep.name)
        except Exception as exc:  # a broken plug-in must not break the audit; naming it does fail
            REGISTRY.checks[ep.name] = _broken(ep.name, f"{type(exc).__name__}: {exc}")


def _broken(name: str, why: str) -> AuditCheck:
    def fail(rows: Rows, params: Mapping[str, Any]) -> CheckReturn:
        raise ValueError(f"audit check {name!r} (entry point) could not be loaded: {why}")

    return AuditCheck(name=name, fn=fail, description=f"could not be loaded: {why}")


def builtin_checks() -> list[AuditCheck]:
    """The built-in checks, in the order the audit runs them."""
    REGISTRY.load()
    return [REGISTRY.checks[n] for n in REGISTRY.builtin]


def known_names() -> list[str]:
    REGISTRY.load()
    return list(REGISTRY.checks)


def resolve(ref: str) -> AuditCheck:
    """A check by registered name, entry point name, or ``module:function``; ValueError when unknown."""
    REGISTRY.load()
    if ":" in ref:
        return _import(ref)
    check = REGISTRY.checks.get(ref)
    if check is None:
        known = known_names()
        raise ValueError(f"unknown audit check {ref!r}{_hint(ref, known)} (known: {', '.join(known)}; "
                         "or module:function)")
    if check.description.startswith("could not be loaded"):
        raise ValueError(f"audit check {ref!r}: {check.description}")
    return check


def _import(ref: str) -> AuditCheck:
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise ValueError(f"audit check {ref!r}: expected module:function")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"audit check {ref!r}: cannot import {module_name!r} ({exc})") from None
    obj = getattr(module, attr, None)
    if obj is None:
        raise ValueError(f"audit check {ref!r}: module {module_name!r} has no {attr!r}"
                         f"{_hint(attr, [n for n in dir(module) if not n.startswith('_')])}")
    return as_check(obj)  # named after the function (or its AuditCheck): that is what reports show


def selected(refs: Iterable[str]) -> list[AuditCheck]:
    """The built-ins, then each of ``refs`` not already among them (the same check twice is one)."""
    out = builtin_checks()
    for ref in refs:
        check = resolve(ref)
        same = next((c for c in out if c.name == check.name), None)
        if same is None:
            out.append(check)
        elif same.fn is not check.fn:
            raise ValueError(f"audit check {ref!r}: the name {check.name!r} is taken by another check")
    return out


def validate(refs: Iterable[str], overrides: Mapping[str, Mapping[str, Any]]) -> list[AuditCheck]:
    """Resolve ``refs`` and check ``overrides`` (check name -> params) against the checks' params."""
    checks = selected(refs)
    by_name = {c.name: c for c in checks}
    for name, values in overrides.items():
        if name not in by_name:
            raise ValueError(f"{name}: no such audit check among those that run{_hint(name, by_name)}")
        if not isinstance(values, Mapping):
            raise ValueError(f"{name}: expected a mapping of parameter values, got {type(values).__name__}")
        try:
            by_name[name].effective(values)
        except ValueError as exc:
            raise ValueError(f"{name}.{exc}") from None
    return checks
