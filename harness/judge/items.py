"""What a judge looks at: items (a prompt, its reference, every model's output) and anchor sets."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import DataError
from harness.judge.config import Split
from harness.userfiles import read_text

BASE = "base"


class JudgeItem(BaseModel):
    """One item: ``outputs`` maps a model name ("base" and each candidate) to its output."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: str = Field(min_length=1)
    prompt: str
    reference: str | None = None
    outputs: dict[str, str]
    split: Split = "eval"  # a judge sees only the splits its config names


class Anchor(BaseModel):
    """A labelled anchor. Pointwise: ``output`` and a ``label`` score (or label name). Pairwise:
    ``base`` and ``candidate`` outputs and ``label`` one of base / candidate / tie."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str | None = None
    prompt: str
    reference: str | None = None
    output: str | None = None
    base: str | None = None
    candidate: str | None = None
    label: float | str


def sample_items(items: Sequence[JudgeItem], fraction: float | None) -> list[JudgeItem]:
    """A stable sample: the same ids are picked whatever the order, so reruns hit the cache."""
    if fraction is None or fraction >= 1:
        return list(items)
    keep = math.ceil(fraction * len(items))
    ranked = sorted(items, key=lambda it: hashlib.sha256(it.item_id.encode()).hexdigest())
    chosen = {it.item_id for it in ranked[:keep]}
    return [it for it in items if it.item_id in chosen]


def load_anchors(path: str | Path, protocol: str) -> list[Anchor]:
    """Read a JSONL anchor set; every row must suit the judge's protocol."""
    p = Path(path)
    anchors: list[Anchor] = []
    for line_no, line in enumerate(read_text(p, "anchor file", kind="anchors").splitlines(), start=1):
        if not line.strip():
            continue
        anchors.append(_anchor(line, p, line_no, protocol))
    if not anchors:
        raise DataError("no anchors (empty file)", path=p)
    return anchors


def _anchor(line: str, path: Path, line_no: int, protocol: str) -> Anchor:
    try:
        anchor = Anchor.model_validate(json.loads(line))
    except json.JSONDecodeError as exc:
        raise DataError(f"not JSON: {exc.msg}", path=path, line=line_no) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"]) or None
        raise DataError(str(err["msg"]), path=path, line=line_no, field=field) from None
    needed = ("output",) if protocol == "pointwise" else ("base", "candidate")
    for name in needed:
        if getattr(anchor, name) is None:
            raise DataError(f"a {protocol} anchor needs {', '.join(needed)}", path=path, line=line_no,
                            field=name)
    if protocol == "pairwise" and anchor.label not in ("base", "candidate", "tie"):
        raise DataError("a pairwise label is base, candidate or tie", path=path, line=line_no,
                        field="label")
    return anchor


def anchor_items(anchors: Sequence[Anchor]) -> list[JudgeItem]:
    """Anchors as items, so they are judged (and cached) like any other."""
    items = []
    for i, a in enumerate(anchors):
        outputs = {"anchor": a.output or ""} if a.output is not None else {
            BASE: a.base or "", "candidate": a.candidate or ""}
        items.append(JudgeItem(item_id=f"anchor:{a.id or i}", prompt=a.prompt, reference=a.reference,
                               outputs=outputs))
    return items
