"""Names that become paths, and removing only what the harness made.

Every name a user gives that ends up in a path (a trial's folder, a suite's default
output folder) goes through :func:`folder_name`: ASCII letters, digits and ``_.+-``
kept, anything else (``/``, ``\\``, NUL, spaces, non-ASCII) as ``_``, no leading dot
(so ``.`` and ``..`` cannot name a parent), long names cut with a hash of the whole
name. Names the mapping folds onto one folder are refused at suite load
(:func:`folder_collisions`). Adapter names inside peft come from
:func:`adapter_name`, which any display name maps to safely and uniquely.

A folder is removed only through :func:`remove_owned`: it must resolve strictly
inside the root it belongs to and carry the harness's own marker file.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

from harness.errors import HarnessError

_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]")
MAX_NAME = 80  # characters of a folder name; longer names keep a prefix and a hash of the whole
_HASHED = 12


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()


def folder_name(name: str) -> str:
    """A safe, single-component folder name for ``name`` (never empty, ``.``, ``..`` or hidden)."""
    safe = _UNSAFE.sub("_", name)
    if not safe or safe.startswith("."):
        safe = "_" + safe[1:] if safe else "_"
    if len(safe) > MAX_NAME:
        safe = f"{safe[: MAX_NAME - _HASHED - 1]}-{_digest(name)[:_HASHED]}"
    return safe


def folder_collisions(names: Iterable[str]) -> list[tuple[str, str, str]]:
    """Pairs of distinct names that map to one folder: ``(first, second, folder)``.

    Compared case-insensitively: on macOS and Windows ``A`` and ``a`` are one folder.
    """
    seen: dict[str, str] = {}
    clashes = []
    for name in names:
        folder = folder_name(name)
        first = seen.setdefault(folder.casefold(), name)
        if first != name:
            clashes.append((first, name, folder))
    return clashes


def adapter_name(name: str) -> str:
    """The peft adapter name for a model's display name: unique per name, and one peft accepts.

    peft refuses ``.`` (a module path separator), and torch refuses names of existing
    attributes (``train``, ``keys``, ``forward``...), so no display name is used as is.
    Hex digits after a word: no dot, no underscore (no ``lora_`` prefix clash).
    """
    return f"adapter{_digest(name)[:16]}"


def inside(root: Path, path: Path) -> bool:
    """``path`` resolves strictly inside ``root`` (not to ``root`` itself)."""
    r, p = Path(os.path.realpath(root)), Path(os.path.realpath(path))
    return p != r and r in p.parents


def remove_owned(folder: Path, *, root: Path, marker: str) -> None:
    """Remove ``folder`` only if it resolves strictly inside ``root`` and holds ``marker``.

    The harness removes folders it made (a trial of another config), never a folder a
    name pointed elsewhere, a symlink's target, or one without its marker.
    """
    if folder.is_symlink() or not inside(root, folder):
        raise HarnessError(f"refusing to remove {folder}: not a folder the harness made inside {root}")
    if not (folder / marker).is_file():
        raise HarnessError(f"refusing to remove {folder}: it has no {marker} (not made by the harness)")
    shutil.rmtree(folder)


def shown(path: str | Path) -> str:
    """A path as text that can always be written: bytes that are not UTF-8 as ``\\xff`` escapes."""
    try:
        return os.fsencode(str(path)).decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no file system produced (text, not a decoded name)
        return str(path).encode("utf-8", "backslashreplace").decode("ascii")


__all__ = ["MAX_NAME", "adapter_name", "folder_collisions", "folder_name", "inside", "remove_owned", "shown"]
