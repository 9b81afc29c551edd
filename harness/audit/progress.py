"""Progress bars for the audit's long steps (rich, on stderr), silenced with ``enabled=False``."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from harness.progress import console  # the one stderr console the CLI prints on


class Steps:
    """``with Steps(True) as steps: advance = steps.task("scan train", total)``."""

    def __init__(self, enabled: bool) -> None:
        self._progress: Progress | None = None
        if enabled:
            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                      MofNCompleteColumn(), TimeElapsedColumn(),
                                      console=console, transient=False)

    def __enter__(self) -> Steps:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()

    def task(self, description: str, total: int) -> Callable[[int], None]:
        """A new bar; the returned function advances it."""
        progress = self._progress
        if progress is None:
            return lambda n: None
        task_id = progress.add_task(description, total=max(total, 1))

        def advance(n: int) -> None:
            progress.advance(task_id, n)

        return advance

    def done(self, description: str) -> None:
        """A one-step bar for work that has no natural unit (clustering, grouping)."""
        self.task(description, 1)(1)
