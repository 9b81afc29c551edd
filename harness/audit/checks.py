"""The registry of per-row audit checks: named functions over a split's rows that return findings.

A check is an :class:`AuditCheck`: a name, a severity, default ``params``, the
fields it reads, whether a row's verdict depends on that row alone
(``scope="row"``, so it can run chunk by chunk) or on the whole set
(``scope="set"``), and whether the default clean policy drops the rows it
flags. Its function takes a :class:`harness.audit.rows.Rows` view and the
effective params and returns :class:`~harness.audit.rows.Hit` s (one flagged
row each) or ready :class:`~harness.results.Finding` s. A set check may have a
``row_phase``: a row-scope function whose hits (what each row shows alone) the
scan workers compute chunk by chunk, so that the set function only decides
from them (``rows.row_phase(fn, params)``) instead of reading every text again.

Three ways in, one registry: ``@audit_check`` on a function registers it on
import (the built-ins in :mod:`harness.audit.defects` too, which
``harness.audit`` imports); a suite's
``audit.checks`` entry (or ``--check``) ``module:function`` imports the module
(from the Python path, else from the suite's folder or the current directory);
an installed package may list checks under the entry point group
``harness.audit_checks``. The built-ins always run; the others run when
named. Unknown names fail with the known ones and a did-you-mean.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union

from harness import plugins
from harness.errors import HarnessError
from harness.results import Finding, Severity

if TYPE_CHECKING:
    from harness.audit.rows import CheckOutput, Hit, Rows

ENTRY_POINT_GROUP = "harness.audit_checks"
ATTR = "__harness_audit_check__"  # where @audit_check leaves the check on the function it decorates
Scope = Literal["row", "set"]
CheckReturn = Union["CheckOutput", Iterable[Union["Hit", Finding]]]
CheckFn = Callable[["Rows", Mapping[str, Any]], CheckReturn]
F = TypeVar("F", bound=Callable[..., Any])


class AuditCheckError(HarnessError, ValueError):
    """An audit check name is unknown or taken, its module cannot be imported, or a parameter is wrong."""


KIND = plugins.Kind(shape="module:function", example="mypkg.checks:no_sql", plural="checks",
                    decorator="@audit_check", marker=ATTR, error=AuditCheckError)


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
    origin: str = ""  # module:qualname of the function
    # A set check's row phase: what each row shows alone, run chunk by chunk by the scan workers
    # like a row-scope check; ``fn`` reads its hits through ``rows.row_phase`` and decides for the set.
    row_phase: CheckFn | None = None

    def effective(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The defaults with ``overrides`` applied; unknown keys and wrong types are errors."""
        out = dict(self.params)
        for key, value in (overrides or {}).items():
            if key not in self.params:
                raise AuditCheckError(f"{key}: unknown parameter of check {self.name!r}"
                                      f"{_hint(key, self.params)} "
                                      f"(known: {', '.join(self.params) or 'none'})")
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
    raise AuditCheckError(f"{key}: expected {type(default).__name__} for check {check!r}, "
                          f"got {type(value).__name__} {value!r}")


def _hint(name: str, known: Iterable[str]) -> str:
    near = plugins.did_you_mean(name, sorted(known))
    return f"; did you mean {near!r}?" if near else ""


def make_check(fn: CheckFn, *, name: str | None = None, severity: Severity = "warning",
               params: Mapping[str, Any] | None = None, fields: Sequence[str] = ("response",),
               scope: Scope = "row", drops: bool = False, description: str | None = None,
               flagged_as: str = "are flagged", row_phase: CheckFn | None = None) -> AuditCheck:
    """The :class:`AuditCheck` of a function (not registered)."""
    doc = (fn.__doc__ or "").strip().splitlines()
    return AuditCheck(name=name or fn.__name__, fn=fn, severity=severity,
                      params=MappingProxyType(dict(params or {})), fields=tuple(fields), scope=scope,
                      drops=drops, flagged_as=flagged_as, row_phase=row_phase,
                      description=description if description is not None else (doc[0] if doc else ""),
                      origin=f"{fn.__module__}:{fn.__qualname__}")


def audit_check(name: str | None = None, **options: Any) -> Callable[[F], F]:
    """Register a per-row check on import: ``@audit_check("my_check", severity="error", params={...})``.

    The function takes ``(rows, params)`` and returns hits, findings or a
    ``CheckOutput``; it is returned unchanged (callable in the user's own tests)
    with its :class:`AuditCheck` at ``fn.__harness_audit_check__``.
    """

    def wrap(fn: F) -> F:
        setattr(fn, ATTR, register(make_check(fn, name=name, **options)))
        return fn

    return wrap


class _Registry:
    """Checks by name, in registration order; the built-ins load on first use, entry points on a miss."""

    def __init__(self) -> None:
        self.checks: dict[str, AuditCheck] = {}
        self.builtin: list[str] = []
        self.entry_points = plugins.EntryPointGroup(ENTRY_POINT_GROUP, AuditCheckError)

    def load(self) -> None:
        """Nothing to do: ``harness.audit`` imports :mod:`harness.audit.defects`, which declares the
        built-ins (importing this module imports that package first)."""

    def from_entry_point(self, name: str) -> AuditCheck | None:
        self.entry_points.refresh()  # a package installed since the last look
        if name not in self.entry_points:
            return None
        check = as_check(self.entry_points.load(name), self.entry_points.where(name))
        return register(check if check.name == name else replace(check, name=name))


REGISTRY = _Registry()


def _same(a: AuditCheck, b: AuditCheck) -> bool:
    return a.fn is b.fn or (bool(a.origin) and a.origin == b.origin)


def register(check: AuditCheck | CheckFn, *, name: str | None = None) -> AuditCheck:
    """Make ``check`` known by its name (a plain function: a warning check named after it).

    Registering the same check again replaces it; a different one under a taken name is refused.
    """
    spec = as_check(check) if isinstance(check, AuditCheck) or hasattr(check, ATTR) else make_check(check)
    if name and name != spec.name:
        spec = replace(spec, name=name)
    existing = REGISTRY.checks.get(spec.name)
    if existing is not None and not _same(existing, spec):
        raise AuditCheckError(f"audit check {spec.name!r} is already registered by {existing.origin}; "
                              f"{spec.origin} cannot take the name", hint="pass another name to @audit_check")
    REGISTRY.checks[spec.name] = spec
    return spec


def declare_builtin(functions: Iterable[Callable[..., Any]]) -> None:
    """The built-in checks, registered already by their decorators, in the order the audit runs them."""
    REGISTRY.builtin = [as_check(fn).name for fn in functions]


def unregister(name: str) -> None:
    """Forget a non-built-in check (tests and notebooks re-registering one)."""
    REGISTRY.load()
    if name in REGISTRY.builtin:
        raise AuditCheckError(f"{name!r} is a built-in audit check")
    REGISTRY.checks.pop(name, None)


def as_check(obj: Any, where: str | None = None) -> AuditCheck:
    """The check a reference names: an :class:`AuditCheck`, or a function ``@audit_check`` decorated."""
    check = plugins.declared(obj, AuditCheck, ATTR)
    if check is not None:
        return check
    raise AuditCheckError(f"{where or repr(obj)} is not an audit check (a {type(obj).__name__}; "
                          "decorate a function with @harness.audit.audit_check)")


def builtin_checks() -> list[AuditCheck]:
    """The built-in checks, in the order the audit runs them."""
    REGISTRY.load()
    return [REGISTRY.checks[n] for n in REGISTRY.builtin]


def known_names() -> list[str]:
    REGISTRY.load()
    return list(dict.fromkeys([*REGISTRY.builtin, *REGISTRY.checks, *REGISTRY.entry_points.names()]))


def resolve(ref: str, folder: Path | None = None) -> AuditCheck:
    """A check by registered name, entry point name, or ``module:function`` (``folder``: also searched)."""
    REGISTRY.load()
    if ":" in ref:
        search = [*([folder] if folder is not None else []), Path.cwd()]
        return as_check(plugins.load_reference(ref, KIND, search), repr(ref))
    check = REGISTRY.checks.get(ref) or REGISTRY.from_entry_point(ref)
    if check is None:
        raise AuditCheckError(plugins.unknown_message("audit check", ref, known_names(),
                                                      tail=" (or module:function for your own)"))
    return check


def selected(refs: Iterable[str], folder: Path | None = None) -> list[AuditCheck]:
    """The built-ins, then each of ``refs`` not already among them (the same check twice is one)."""
    out = builtin_checks()
    for ref in refs:
        check = resolve(ref, folder)
        same = next((c for c in out if c.name == check.name), None)
        if same is None:
            out.append(check)
        elif not _same(same, check):
            raise AuditCheckError(f"audit check {ref!r}: the name {check.name!r} is taken by another check")
    return out


def validate(refs: Iterable[str], overrides: Mapping[str, Any],
             folder: Path | None = None) -> list[AuditCheck]:
    """Resolve ``refs`` and check ``overrides`` (check name -> params) against the checks' params."""
    checks = selected(refs, folder)
    by_name = {c.name: c for c in checks}
    for name, values in overrides.items():
        if name not in by_name:
            raise AuditCheckError(f"{name}: no such audit check among those that run{_hint(name, by_name)}")
        if not isinstance(values, Mapping):
            raise AuditCheckError(f"{name}: expected a mapping of parameter values, "
                                  f"got {type(values).__name__}")
        try:
            by_name[name].effective(values)
        except AuditCheckError as exc:
            raise AuditCheckError(f"{name}.{exc.message}") from None
    return checks
