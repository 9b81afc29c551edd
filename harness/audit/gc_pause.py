"""The cyclic garbage collector paused while an audit runs.

An audit holds a few million long-lived objects at a million rows (the row
phases' hits, findings, a file's line index views), and every full collection
walks all of them: 13 full collections cost the parent process 6 s of a 1M-row
audit, time no other process could use. The audit makes no reference cycles
worth collecting (its records, hits and arrays are freed by reference counts),
so the collector is off until the audit returns, then back as it was. Scan
workers forked meanwhile inherit it off: a collection in a forked worker would
also write to every inherited object's header, copying the parent's pages.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic collection inside; the collector's state as before afterwards (nesting is fine)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
