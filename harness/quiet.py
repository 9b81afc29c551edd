"""Third-party output kept off the terminal for one run: progress bars, logging, warnings.

Each library is switched off through its own documented mechanism, never by patching it:

- progress bars: huggingface_hub's ``disable_progress_bars()`` (transformers reads that
  switch when it is imported), and ``disable_progress_bar()`` of transformers and datasets
  when they are imported already; a datasets imported during the run reads
  ``HF_DATASETS_DISABLE_PROGRESS_BARS``;
- logging: the library loggers at ERROR; transformers, datasets and huggingface_hub set
  their level from ``*_VERBOSITY`` when first imported, so those are set too;
- warnings: ignored inside the block (``warnings.catch_warnings``); the harness itself
  reports through its console, never through ``warnings``.

Everything is restored on exit. What a library decided at import during the block
(datasets' bar switch) stays as it decided. Heavy libraries are never imported here.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

LOGGERS = (
    "transformers", "datasets", "huggingface_hub", "peft", "trl", "accelerate", "bitsandbytes",
    "lm_eval", "torch", "ray", "sentence_transformers", "httpx", "filelock", "urllib3",
)
VERBOSITY_ENV = dict.fromkeys(("TRANSFORMERS_VERBOSITY", "DATASETS_VERBOSITY", "HF_HUB_VERBOSITY"), "error")
TRANSFORMERS_BARS = "transformers.utils.logging"
BAR_MODULES = (TRANSFORMERS_BARS, "datasets.utils.logging")  # each: disable/enable/is_progress_bar_enabled


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """Inside the block, third-party bars, log records below ERROR and warnings reach nobody."""
    with ExitStack() as stack:
        stack.enter_context(_environment({
            **VERBOSITY_ENV,
            **({} if "datasets" in sys.modules else {"HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}),
        }))
        stack.enter_context(_logger_levels(LOGGERS, logging.ERROR))
        stack.enter_context(_bars_off())
        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")
        yield


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables the libraries read at import; put the old values back after."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _logger_levels(names: tuple[str, ...], level: int) -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in names]
    before = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(level)
    try:
        yield
    finally:
        for lg, old in zip(loggers, before, strict=True):
            lg.setLevel(old)


@contextmanager
def _bars_off() -> Iterator[None]:
    from huggingface_hub import utils as hub  # light (tens of ms); transformers and datasets are not

    hub_on = not hub.are_progress_bars_disabled()
    if hub_on:
        hub.disable_progress_bars()
    was_on = {name: _bars_enabled(name) for name in BAR_MODULES if name in sys.modules}
    for name, on in was_on.items():
        if on:
            sys.modules[name].disable_progress_bar()
    try:
        yield
    finally:
        if hub_on:
            hub.enable_progress_bars()
        for name, on in was_on.items():
            if on:
                sys.modules[name].enable_progress_bar()
        # transformers imported during the block copied the hub's switch (off) at import
        if hub_on and TRANSFORMERS_BARS in sys.modules and TRANSFORMERS_BARS not in was_on:
            sys.modules[TRANSFORMERS_BARS].enable_progress_bar()


def _bars_enabled(module: str) -> bool:
    mod: Any = sys.modules[module]
    return bool(mod.is_progress_bar_enabled())
