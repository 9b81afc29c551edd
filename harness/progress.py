"""The terminal: one rich console, its progress displays, the stage summary lines, and how loud a run is.

Everything the harness tells a person goes through :data:`console` (stderr, so
stdout stays parseable). A run has one of three modes, set by :func:`terminal`
(the CLI and the pytest plugin enter it):

- normal: progress displays on a terminal, one summary line per stage, third-party
  bars, logs and warnings kept off (:mod:`harness.quiet`);
- quiet: only :func:`verdict` lines (the verdict and where the report is);
- debug: the libraries print their own bars, logs and warnings again.

Progress displays are transient and drawn only on a terminal: in a log (CI) they
would leave blank lines, and the stage summary lines are the record there.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, redirect_stderr
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

console = Console(stderr=True, highlight=False)
_debug = False


def live() -> bool:
    """Whether live displays (bars, spinners) can be drawn: a terminal, and not ``--quiet``."""
    return console.is_terminal and not console.quiet


def progress_bar(enabled: bool = True) -> Progress:
    """Bars with a description, n/total and the elapsed time; off unless ``enabled`` and :func:`live`."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not (enabled and live()),
        transient=True,
    )


def status(text: str, enabled: bool = True) -> AbstractContextManager[Any]:
    """A spinner and one line of text while a step without a count runs."""
    return console.status(escape(text)) if enabled and live() else nullcontext()


class Steps:
    """Counted steps on one display: ``with Steps(True) as steps: advance = steps.task("scan", n)``."""

    def __init__(self, enabled: bool) -> None:
        self._progress = progress_bar(enabled)

    def __enter__(self) -> Steps:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def task(self, description: str, total: int) -> Callable[[int], None]:
        """A new bar; the returned function advances it."""
        task_id = self._progress.add_task(description, total=max(total, 1))
        return lambda n: self._progress.advance(task_id, n)

    def done(self, description: str) -> None:
        """A one-step bar for work that has no natural unit (clustering, grouping)."""
        self.task(description, 1)(1)


def line(text: str) -> None:
    """A detail line inside a stage (one trial, one model); hidden with ``--quiet``."""
    console.print(escape(text), soft_wrap=True)


def summary(stage: str, text: str) -> None:
    """The one line a stage ends with: ``<stage>: <what it did> -> <what it wrote>``."""
    console.print(f"{escape(stage)}: {escape(text)}", soft_wrap=True)


def warning(text: str) -> None:
    """A problem the run goes on after (a judge stopped, a tracker failed); hidden with ``--quiet``,
    where the verdict and the failed gates say what it cost."""
    console.print(f"[yellow]warning:[/] {escape(text)}", soft_wrap=True)


def verdict(markup: str) -> None:
    """A line shown even with ``--quiet``: the verdict, where the report is (rich markup: escape data)."""
    was, console.quiet = console.quiet, False
    try:
        console.print(markup, soft_wrap=True)
    finally:
        console.quiet = was


def debugging() -> bool:
    """Whether this run shows the libraries' own output (``--debug``)."""
    return _debug


@contextmanager
def terminal(*, quiet: bool = False, debug: bool = False) -> Iterator[None]:
    """One harness run's output mode (see the module docstring); the previous mode is restored after."""
    from harness.quiet import quiet_libraries

    global _debug
    before = console.quiet, _debug
    console.quiet, _debug = quiet, debug
    try:
        with nullcontext() if debug else quiet_libraries():
            yield
    finally:
        console.quiet, _debug = before


@contextmanager
def stderr_muted() -> Iterator[None]:
    """Send what a library writes straight to ``sys.stderr`` to a sink (lm-eval's tqdm bars have no
    switch), while the harness console keeps writing to the real stderr; a no-op with ``--debug``."""
    if _debug:
        yield
        return
    console.file = sys.stderr  # pinned: the console otherwise looks up sys.stderr on every write
    try:
        with redirect_stderr(io.StringIO()):
            yield
    finally:
        console.file = None  # type: ignore[assignment]  # back to following sys.stderr
