"""Loading plug-ins: ``module:attr`` references, entry point groups, and the did-you-mean for names.

The metric, audit-check and judge-backend registries load users' code the same way:

* :func:`load_reference` imports the module of a ``module:attr`` reference (from the Python
  path, else from a search folder that holds it: the suite's folder, the current directory)
  and takes the (dotted) attribute;
* :class:`EntryPointGroup` lists an entry point group once (again after a miss: a package
  installed since) and loads one entry by name;
* :func:`did_you_mean` and :func:`unknown_message` word a name that is not known.

A failure says which reference or entry point, what went wrong and why, in one line: a
:class:`PluginError` (its fields let a registry word it its own way), or the registry's own
error type when its :class:`Kind` (or :class:`EntryPointGroup`) names one.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, TypeVar

Problem = Literal["shape", "import", "attribute", "entry_point"]
ErrorType = Callable[..., Exception]  # called as error(message, hint=...): a HarnessError subclass
T = TypeVar("T")


class PluginError(Exception):
    """A plug-in could not be loaded. ``message`` (and ``hint``) are one line each; the fields say
    what failed, so a registry may word it its own way."""

    def __init__(self, message: str, *, problem: Problem, ref: str, module: str = "", attr: str = "",
                 cause: BaseException | None = None, hint: str | None = None) -> None:
        self.message, self.hint, self.problem = message, hint, problem
        self.ref, self.module, self.attr, self.cause = ref, module, attr, cause
        super().__init__(message if hint is None else f"{message} ({hint})")


@dataclass(frozen=True)
class Kind:
    """What a registry loads, in the words its messages use."""

    shape: str  # "module:function"
    example: str  # "mypkg.metrics:sql_executes"
    plural: str = ""  # "metrics": lists a module's plug-ins when the attribute is missing
    decorator: str = ""  # "@metric"
    marker: str | None = None  # the attribute a decorated plug-in carries (None: no listing)
    error: ErrorType | None = None  # raised instead of PluginError


def _raised(exc: PluginError, error: ErrorType | None) -> Exception:
    return exc if error is None else error(exc.message, hint=exc.hint)


def declared(obj: Any, cls: type[T], marker: str) -> T | None:
    """``obj`` when it is a ``cls``, else the ``cls`` a decorator left on it at ``marker``, else None."""
    if isinstance(obj, cls):
        return obj
    found = getattr(obj, marker, None)
    return found if isinstance(found, cls) else None


def did_you_mean(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``name``, or None when none is close."""
    return next(iter(difflib.get_close_matches(name, list(known), n=1)), None)


def unknown_message(what: str, name: str, known: Sequence[str], *, tail: str = "",
                    near: str | None = None) -> str:
    """lm-eval style: ``unknown <what> 'x'; did you mean 'y'? Available: a, b<tail>``."""
    near = near or did_you_mean(name, known)
    head = f"unknown {what} {name!r}" + (f"; did you mean {near!r}?" if near else ".")
    return f"{head} Available: {', '.join(known)}{tail}"


def split_reference(ref: str, kind: Kind) -> tuple[str, str]:
    """``(module, attr)`` of ``module:attr``; PluginError when either side is empty."""
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise PluginError(f"{ref!r}: expected {kind.shape}, e.g. {kind.example}", problem="shape", ref=ref)
    return module_name, attr


def import_module(module_name: str, search: Sequence[Path] = ()) -> ModuleType:
    """Import ``module_name``; when neither it nor a parent is on the path, from a ``search`` folder
    that holds it (appended to ``sys.path``, so the module's own imports of its siblings work).

    Raises what the import raised.
    """
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        top = module_name.split(".")[0]
        missing_self = exc.name is not None and f"{module_name}.".startswith(f"{exc.name}.")
        extra = [str(p) for p in search if (p / top).is_dir() or (p / f"{top}.py").is_file()]
        extra = [p for p in dict.fromkeys(extra) if p not in sys.path]
        if not missing_self or not extra:
            raise
        sys.path.extend(extra)
        importlib.invalidate_caches()
        return importlib.import_module(module_name)


def load_reference(ref: str, kind: Kind, search: Sequence[Path] = ()) -> Any:
    """The object ``module:attr`` names (``attr`` may be dotted: ``Outer.Inner``)."""
    try:
        return _load_reference(ref, kind, search)
    except PluginError as exc:
        raise _raised(exc, kind.error) from None


def _load_reference(ref: str, kind: Kind, search: Sequence[Path]) -> Any:
    module_name, attr = split_reference(ref, kind)
    try:
        module = import_module(module_name, search)
    except Exception as exc:  # the user's module: any failure is theirs to fix, reported in one line
        raise PluginError(f"{ref!r}: cannot import {module_name!r}: {type(exc).__name__}: {exc}",
                          problem="import", ref=ref, module=module_name, cause=exc) from None
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            hint = _members_hint(module, attr, kind) if target is module else None  # a top-level miss
            raise PluginError(f"{ref!r}: module {module_name!r} has no attribute {attr!r}",
                              problem="attribute", ref=ref, module=module_name, attr=attr, hint=hint)
        target = getattr(target, part)
    return target


def _members_hint(module: ModuleType, attr: str, kind: Kind) -> str | None:
    """Name the module's plug-ins of this kind: the closest one, else all of them, else none."""
    if kind.marker is None:
        return None
    members = [k for k, v in vars(module).items() if getattr(v, kind.marker, None) is not None]
    near = did_you_mean(attr, members)
    if near:
        return f"did you mean {module.__name__}:{near}?"
    if members:
        return f"its {kind.plural}: {', '.join(sorted(members))}"
    return f"it defines no {kind.decorator}"


class EntryPointGroup:
    """The entry points of one group by name, read once and again after :meth:`refresh`."""

    def __init__(self, group: str | None, error: ErrorType | None = None) -> None:
        self.group, self.error = group, error  # error: raised instead of PluginError
        self._found: dict[str, importlib.metadata.EntryPoint] | None = None

    def refresh(self) -> None:
        """Read the group again on the next look (a package may have been installed since)."""
        self._found = None

    def all(self) -> dict[str, importlib.metadata.EntryPoint]:
        if self.group is None:
            return {}
        if self._found is None:
            self._found = {ep.name: ep for ep in importlib.metadata.entry_points(group=self.group)}
        return self._found

    def names(self) -> list[str]:
        return list(self.all())

    def __contains__(self, name: object) -> bool:
        return name in self.all()

    def where(self, name: str) -> str:
        """``entry point 'x' (group: module:attr)``: how messages name the entry."""
        return f"entry point {name!r} ({self.group}: {self.all()[name].value})"

    def load(self, name: str) -> Any:
        """The object entry ``name`` points at (None when the group has no such entry)."""
        ep = self.all().get(name)
        if ep is None:
            return None
        try:
            return ep.load()
        except Exception as exc:  # a broken plug-in is the user's to fix: say which and why
            failed = PluginError(f"{self.where(name)} cannot be loaded: {type(exc).__name__}: {exc}",
                                 problem="entry_point", ref=name, module=ep.value, cause=exc)
            raise _raised(failed, self.error) from None


__all__ = ["EntryPointGroup", "Kind", "PluginError", "declared", "did_you_mean", "import_module",
           "load_reference", "split_reference", "unknown_message"]
