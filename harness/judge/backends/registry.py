"""The judge backend registry: one table from a name to a backend class, for built-ins and users alike.

A judge config's ``backend:`` is looked up, in this order:

1. a name registered in this process with :func:`register_backend` (the built-ins
   ``openai``, ``anthropic`` and ``local`` are registered below, through the same call);
2. a name from the ``harness.judge_backends`` entry point group of an installed
   distribution (``vllm = mypkg.judges:VLLMBackend``);
3. ``module:Class``, imported as written (``mypkg.judges:VLLMBackend``).

A target is a class (or a ``"module:Class"`` string, imported on first use, so an
SDK is imported only when its backend is used). It is called with the judge's
:class:`~harness.judge.config.JudgeConfig` and must return a
:class:`~harness.judge.backends.base.Backend`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from harness import plugins
from harness.errors import JudgeError

if TYPE_CHECKING:
    from harness.judge.backends.base import Backend
    from harness.judge.config import JudgeConfig

ENTRY_POINT_GROUP = "harness.judge_backends"
T = TypeVar("T")
KIND = plugins.Kind(shape="module:Class", example="mypkg.judges:MyBackend")

_REGISTERED: dict[str, str | type] = {}


def register_backend(name: str, target: str | type | None = None) -> Any:
    """Register ``target`` (a class, or ``"module:Class"``) as the backend ``name``.

    Without ``target`` it is a class decorator: ``@register_backend("vllm")``.
    Registering a name again replaces the earlier entry (tests, notebooks).
    """
    if not name or ":" in name:
        raise ValueError(f"a backend name is a plain word, got {name!r} (':' marks module:Class)")

    def register(cls: T) -> T:
        _REGISTERED[name] = cls  # type: ignore[assignment]
        return cls

    if target is None:
        return register
    _REGISTERED[name] = target
    return target


def unregister_backend(name: str) -> None:
    _REGISTERED.pop(name, None)


_GROUP = plugins.EntryPointGroup(ENTRY_POINT_GROUP)


def _entry_points() -> plugins.EntryPointGroup:
    _GROUP.refresh()  # read on every look: a backend package may be installed while a process runs
    return _GROUP


def known_backends() -> list[str]:
    """Every backend name usable in a judge config (``module:Class`` aside)."""
    return sorted(set(_REGISTERED) | set(_entry_points().names()))


def check_backend(value: str) -> str:
    """Validate ``backend:`` at suite load: a known name, or an importable ``module:Class`` backend.

    Raises ValueError with one line: what is wrong, the known names, and a near match.
    """
    if value in _REGISTERED or value in _entry_points():
        return value
    if ":" in value:
        _check_class(_import_target(value, ValueError), value, ValueError)
        return value
    known = known_backends()
    near = plugins.did_you_mean(value, known)
    hint = f"; did you mean {near!r}?" if near else ""
    raise ValueError(f"unknown judge backend {value!r}; known: {', '.join(known)}, or module:Class{hint}")


def backend_class(name: str) -> Callable[[JudgeConfig], Backend]:
    """The class (factory) behind a backend name or ``module:Class``; JudgeError if it cannot load."""
    target: Any
    if name in _REGISTERED:
        target = _REGISTERED[name]
        if isinstance(target, str):
            target = _import_target(target, JudgeError)
    elif name in (found := _entry_points()):
        try:
            target = found.load(name)
        except plugins.PluginError as exc:  # a broken plug-in is the user's to fix: say which and why
            raise JudgeError(f"judge backend {name!r} (entry point {exc.module}) failed to load: "
                             f"{type(exc.cause).__name__}: {exc.cause}") from None
    elif ":" in name:
        target = _import_target(name, JudgeError)
    else:
        check_backend(name)  # raises with the known names
        raise AssertionError("unreachable")  # pragma: no cover
    _check_class(target, name, JudgeError)
    factory: Callable[[JudgeConfig], Backend] = target
    return factory


def make_backend(config: JudgeConfig) -> Backend:
    """A new backend for ``config``: its class called with the config."""
    from harness.errors import HarnessError

    factory = backend_class(config.backend)
    try:
        return factory(config)
    except HarnessError:
        raise
    except Exception as exc:
        from harness.judge.secrets import redact

        raise JudgeError(redact(f"judge {config.name!r}: backend {config.backend!r} could not be created: "
                                f"{type(exc).__name__}: {exc}")) from None


def backend_identity(target: object, config: JudgeConfig) -> str:
    """What the verdict cache keys a judge model by.

    A backend declares it as ``identity(config) -> str`` (a classmethod or staticmethod;
    on an object passed to ``run_judges``, a method or a plain ``identity`` string).
    Default: ``module:Class/model``, so two backends serving one model name never share verdicts.
    """
    declared = getattr(target, "identity", None)
    if isinstance(declared, str):
        return declared
    if callable(declared):
        return str(declared(config))
    cls = target if isinstance(target, type) else type(target)
    return f"{cls.__module__}:{cls.__qualname__}/{config.model}"


def class_path(target: object) -> str:
    cls = target if isinstance(target, type) else type(target)
    return f"{cls.__module__}:{cls.__qualname__}"


def _import_target(spec: str, error: Callable[[str], Exception]) -> Any:
    """The class ``module:Class`` names, imported as written; ``error`` is the exception to raise."""
    try:
        return plugins.load_reference(spec, KIND)
    except plugins.PluginError as exc:
        if exc.problem == "import":
            raise error(f"{spec!r}: cannot import module {exc.module!r} ({_cause(exc)})") from None
        if exc.problem == "attribute":
            raise error(f"{spec!r}: module {exc.module!r} has no {exc.attr!r}") from None
        raise error(exc.message) from None


def _cause(exc: plugins.PluginError) -> str:
    """Why a plug-in failed: an import error's own words, any other error with its type."""
    cause = exc.cause
    return str(cause) if isinstance(cause, ImportError) else f"{type(cause).__name__}: {cause}"


def _check_class(target: Any, spec: str, error: Callable[[str], Exception]) -> None:
    """A backend class must be callable with the config and have async ``complete`` and ``aclose``."""
    if not callable(target):
        raise error(f"{spec!r} is not a judge backend class (got {type(target).__name__})")
    missing = [name for name in ("complete", "aclose")
               if not inspect.iscoroutinefunction(getattr(target, name, None))]
    if missing:
        raise error(f"{spec!r} is not a judge backend: it needs async methods complete(system, user, "
                    f"max_tokens) and aclose(); missing or not async: {', '.join(missing)}")


register_backend("openai", "harness.judge.backends.openai_api:OpenAIBackend")
register_backend("anthropic", "harness.judge.backends.anthropic_api:AnthropicBackend")
register_backend("local", "harness.judge.backends.local_hf:LocalBackend")
