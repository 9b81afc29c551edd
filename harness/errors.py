"""The harness error hierarchy.

Every failure a user can cause or fix is a :class:`HarnessError`; the CLI turns
it into one line on stderr and exit code 2 (``--debug`` shows the traceback).
Anything else escaping is a bug.

::

    HarnessError                      exit 2, one line: "<where>: <what> (hint)"
    ├── DataError                     a dataset file: path, line, field
    ├── ConfigError                   a suite file: path, key path ("sweep.grid.r[2]")
    ├── ModelError                    a base model or tokenizer cannot be loaded
    │   └── AdapterError              an adapter does not fit its base (wrong base, shapes)
    ├── JudgeError                    a judge backend failed for good (after retries)
    │   └── BudgetExceeded            a judge run would spend more than its budget
    ├── BaselineError                 a stored baseline is missing or not comparable
    └── MetricError                   a metric is unknown, cannot be imported, or failed on an item
"""

from __future__ import annotations

from pathlib import Path


def brief(value: object, limit: int = 80) -> str:
    """``repr(value)`` for a message, cut to about ``limit`` characters (a value may be megabytes)."""
    import reprlib

    short = reprlib.Repr()
    short.maxstring = short.maxother = limit
    short.maxlist = short.maxdict = short.maxtuple = 4
    text = short.repr(value)
    return text if len(text) <= limit + 10 else text[:limit] + "..."


class HarnessError(Exception):
    """Base of every error the user can act on. ``str()`` is the one-line message."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.render())

    def where(self) -> str:
        return ""

    def render(self) -> str:
        where = self.where()
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f" ({self.hint})"
        # One line, always: a newline inside data would break the contract.
        return " ".join(text.split())


class DataError(HarnessError):
    """A dataset file is missing, unreadable or malformed."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        super().__init__(message, hint=hint)

    def where(self) -> str:
        text = self.path if self.line is None else f"{self.path}:{self.line}"
        if self.field:
            text += f": field '{self.field}'"
        return text


class ConfigError(HarnessError):
    """A suite file is missing, not YAML, or fails validation."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.key = key
        super().__init__(message, hint=hint)

    def where(self) -> str:
        parts = [p for p in (self.path, self.key) if p]
        return ": ".join(parts)


class ModelError(HarnessError):
    """A base model or tokenizer cannot be loaded."""


class AdapterError(ModelError):
    """An adapter does not fit the base it is loaded on."""


class JudgeError(HarnessError):
    """A judge backend failed after its retries, or answered something unusable."""


class BudgetExceeded(JudgeError):
    """A judge run would exceed (or has exceeded) its token or money budget."""


class BaselineError(HarnessError):
    """A baseline is missing, or its hashes say it is not comparable to this run."""


class MetricError(HarnessError):
    """A metric name is unknown or taken, its module cannot be imported, or it failed on an item."""
