"""The clean policy: which checks drop a row, which duplicate is kept, which side loses a leak.

Defaults: exact and near duplicates, train rows leaking into eval, benchmark
contamination, and the per-row checks registered with ``drops=True``
(``empty_target``, ``placeholder_output``); warning-only classes are kept
unless named. ``keep`` picks the member of a duplicate cluster that stays
(``first``, ``longest`` or ``shortest`` record); ``leak_side`` which side of
a leak goes (``train``; ``eval`` cleans the eval split, which otherwise never
changes). ``eval: true`` also writes a cleaned eval split (its own
duplicates, contamination and per-row defects dropped). ``verify`` re-audits
the kept rows with the same settings until no finding of a dropped check is
left (a set-level threshold can move when rows go), at most ``max_passes``
audits in all.
"""

from __future__ import annotations

import difflib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

CLUSTER_CHECKS = frozenset({"exact_duplicates", "near_duplicates", "semantic_duplicates"})
LEAK_CHECKS = frozenset({"leakage", "semantic_leakage"})
CORE_DROPS = ("exact_duplicates", "near_duplicates", "leakage", "contamination")
_CORE = (*CORE_DROPS, "semantic_duplicates", "semantic_leakage")


def droppable() -> list[str]:
    """Every check whose findings can drop rows (``input_size`` names whole splits: it cannot)."""
    from harness.audit.checks import known_names
    from harness.audit.template_findings import CHECKS as TEMPLATE_CHECKS

    return [*_CORE, *known_names(), *(c for c in TEMPLATE_CHECKS if c not in _CORE)]


def default_drops() -> tuple[str, ...]:
    from harness.audit.checks import builtin_checks

    return (*CORE_DROPS, *(c.name for c in builtin_checks() if c.drops))


class CleanPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    drop: tuple[str, ...] | None = None  # None: default_drops()
    also_drop: tuple[str, ...] = ()  # added to ``drop`` (or to the defaults)
    keep: Literal["first", "longest", "shortest"] = "first"
    leak_side: Literal["train", "eval"] = "train"
    eval: bool = False
    verify: bool = True
    max_passes: int = Field(5, ge=1)

    @field_validator("drop", "also_drop")
    @classmethod
    def _known(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        from harness.audit.checks import resolve

        known = droppable()
        names = []
        for name in value:
            if ":" in name:  # a user's module:function check: dropped by the name it reports under
                names.append(resolve(name).name)
            elif name in known:
                names.append(name)
            else:
                near = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                raise ValueError(f"unknown check {name!r} to drop{hint} (known: {', '.join(known)})")
        return tuple(dict.fromkeys(names))

    def dropped(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*(default_drops() if self.drop is None else self.drop), *self.also_drop)))

    @property
    def cleans_eval(self) -> bool:
        """Whether the eval split may change (and is written)."""
        return self.eval or self.leak_side == "eval"
