"""Turn items into judge requests: one per output (pointwise), two per base/candidate pair (pairwise).

Pairwise asks twice, base shown first ("ab") and candidate shown first ("ba"),
so that position bias shows up as disagreement instead of a fake win.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.errors import JudgeError
from harness.judge.budget import estimate_prompt_tokens
from harness.judge.cache import verdict_key
from harness.judge.config import JudgeConfig
from harness.judge.items import BASE, JudgeItem
from harness.judge.rubrics import Rubric


@dataclass(frozen=True, slots=True)
class Job:
    """One request to the judge."""

    key: str
    system: str
    user: str
    max_tokens: int

    @property
    def bound(self) -> tuple[int, int]:
        """Upper bounds on (prompt tokens, answer tokens)."""
        return estimate_prompt_tokens(self.system, self.user), self.max_tokens


@dataclass(frozen=True, slots=True)
class Planned:
    """The requests behind one verdict: pointwise ``(job,)``, pairwise ``(ab, ba)``."""

    item_id: str
    model: str
    jobs: tuple[Job, ...]


def plan_jobs(config: JudgeConfig, rubric: Rubric, items: Sequence[JudgeItem], *,
              model_identity: str, backend: str) -> list[Planned]:
    """The requests behind every verdict; ``backend`` and ``model_identity`` go into each cache key."""
    _check_references(rubric, items, config.name)
    make = _Maker(config, rubric, model_identity, backend)
    planned: list[Planned] = []
    for item in items:
        if config.protocol == "pointwise":
            planned += [Planned(item.item_id, name, (make.pointwise(item, output),))
                        for name, output in item.outputs.items()]
            continue
        if BASE not in item.outputs:
            raise JudgeError(f"judge {config.name!r}: item {item.item_id!r} has no {BASE!r} output "
                             "to compare candidates against")
        base = item.outputs[BASE]
        for name, output in item.outputs.items():
            if name != BASE:
                orders = (make.pairwise(item, base, output), make.pairwise(item, output, base))
                planned.append(Planned(item.item_id, name, orders))
    return planned


def _check_references(rubric: Rubric, items: Sequence[JudgeItem], judge: str) -> None:
    if not rubric.requires_reference:
        return
    missing = [it.item_id for it in items if not (it.reference or "").strip()]
    if missing:
        raise JudgeError(f"judge {judge!r}: rubric {rubric.name!r} grades against a reference, and "
                         f"{len(missing)} item(s) have none (first: {missing[0]!r})")


class _Maker:
    def __init__(self, config: JudgeConfig, rubric: Rubric, model_identity: str, backend: str) -> None:
        self.config, self.rubric, self.model_identity, self.backend = config, rubric, model_identity, backend

    def _job(self, system: str, user: str, inputs: dict[str, str | None]) -> Job:
        r = self.rubric
        key = verdict_key(backend=self.backend, model=self.model_identity, rubric=r.name,
                          rubric_version=r.version, rubric_hash=r.content_hash, system=system, user=user,
                          max_tokens=r.max_tokens, inputs=inputs)
        return Job(key, system, user, r.max_tokens)

    def pointwise(self, item: JudgeItem, output: str) -> Job:
        system, user = self.rubric.render_pointwise(item.prompt, output, item.reference)
        return self._job(system, user, {"prompt": item.prompt, "output": output,
                                        "reference": item.reference})

    def pairwise(self, item: JudgeItem, first: str, second: str) -> Job:
        system, user = self.rubric.render_pairwise(item.prompt, first, second, item.reference)
        return self._job(system, user, {"prompt": item.prompt, "output_a": first, "output_b": second,
                                        "reference": item.reference})
