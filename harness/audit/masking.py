"""Verify a record's loss mask against where its turns really are, and show it.

The labels come from :func:`harness.data.labels.label_records` (what training
uses). The check is independent of how those labels were made: it takes each
turn's content region from the sentinel skeleton
(:func:`harness.audit.template_probe.skeleton_regions`) and demands that

* every token holding assistant content carries loss ("unlearned" otherwise);
* no other token carries loss, except the assistant turn's own end (what the
  template writes right after the content: end-of-turn, EOS) and, for the
  last turn, whatever closes the conversation ("prompt" leak otherwise; when
  the regions were only found by searching, just the located prompt contents
  are checked, to stay clear of template text the skeleton could not place);
* something carries loss at all ("empty");
* each assistant turn's loss ends with an end-of-turn or EOS control token
  (``missing_eos``: the model would never learn to stop).

Arrays are numpy: a record's checks are a handful of vector operations.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.audit.template_probe import Regions, TemplateProfile
from harness.data.labels import IGNORE, Labeled, offset_array
from harness.data.record import ASSISTANT, Record


@dataclass(frozen=True)
class MaskCheck:
    """What one record's labels do, against what they should do."""

    empty: bool
    leaked: str  # text of non-assistant tokens that carry loss ("" when none)
    unlearned: str  # text of assistant-content tokens without loss ("" when none)
    missing_eos: tuple[int, ...]  # assistant turns whose loss has no end-of-turn/EOS token
    prompt_tokens: int  # tokens before the final assistant turn
    total_tokens: int
    extra_bos: int  # BOS tokens beyond a single leading one


@dataclass(frozen=True)
class TokenView:
    """A labeled record as arrays: token starts, ends, ids and loss flags."""

    starts: np.ndarray
    ends: np.ndarray
    ids: np.ndarray
    loss: np.ndarray

    @classmethod
    def of(cls, labeled: Labeled) -> TokenView:
        off = offset_array(labeled.offsets)
        return cls(off[:, 0], off[:, 1], np.asarray(labeled.input_ids, dtype=np.int64),
                   np.asarray(labeled.labels, dtype=np.int64) != IGNORE)

    def text_of(self, text: str, mask: np.ndarray, limit: int = 200) -> str:
        pieces = [text[s:e] for s, e in zip(self.starts[mask], self.ends[mask], strict=True)]
        return "".join(pieces)[:limit]


def check_mask(record: Record, labeled: Labeled, regions: Regions, profile: TemplateProfile,
               control_ids: Collection[int], bos_id: int | None, eos_id: int | None) -> MaskCheck:
    view = TokenView.of(labeled)
    text = labeled.text
    real = view.ends > view.starts
    allowed = np.zeros(len(view.ids), dtype=bool)
    required = np.zeros(len(view.ids), dtype=bool)
    prompt = np.zeros(len(view.ids), dtype=bool)
    missing: list[int] = []
    last = len(record.turns) - 1
    for k, turn in enumerate(record.turns):
        span = regions.spans[k]
        if span is None:
            continue
        s, e = span
        if turn.role != ASSISTANT:
            prompt |= real & (view.starts >= s) & (view.starts < e)
            continue
        content = _content_tokens(view, text, s, e) & real
        required |= content
        start = _allowed_start(text, s, profile)
        end = len(text) if k == last else _turn_end(text, e, profile)
        allowed |= content | (real & (view.starts >= start) & (view.starts < end))
        tail = real & view.loss & (view.ends > e) & (view.starts < end)
        if not any(int(t) in control_ids for t in view.ids[tail]):
            missing.append(k)
    leaked = view.loss & (~allowed if regions.exact else prompt)
    unlearned = required & ~view.loss
    return MaskCheck(
        empty=not bool(view.loss.any()),
        leaked=view.text_of(text, leaked) if leaked.any() else "",
        unlearned=view.text_of(text, unlearned) if unlearned.any() else "",
        missing_eos=tuple(missing),
        prompt_tokens=_prompt_tokens(record, labeled, regions, view, profile),
        total_tokens=len(view.ids),
        extra_bos=_extra_bos(view.ids, bos_id, eos_id),
    )


def _content_tokens(view: TokenView, text: str, s: int, e: int) -> np.ndarray:
    """Tokens holding non-space characters of ``text[s:e]`` (a token may start just before it)."""
    inside = (view.starts >= s) & (view.starts < e)
    for k in np.flatnonzero((view.starts < s) & (view.ends > s)):
        if text[s : min(int(view.ends[k]), e)].strip():
            inside[k] = True
    return inside


def _allowed_start(text: str, s: int, profile: TemplateProfile) -> int:
    """Where the assistant's own output begins: its content, or a pre-content block before it."""
    for extra in profile.pre_content:
        if extra and text.startswith(extra, s - len(extra)):
            return s - len(extra)
    return s


def _turn_end(text: str, e: int, profile: TemplateProfile) -> int:
    end = profile.turn_end
    return e + len(end) if end and text.startswith(end, e) else e


def _prompt_tokens(record: Record, labeled: Labeled, regions: Regions, view: TokenView,
                   profile: TemplateProfile) -> int:
    """Tokens before the final assistant turn's output (all of them when there is none)."""
    last = record.last_assistant_index
    if last is None:
        return len(view.ids)
    span = regions.spans[last]
    if span is not None:
        start = _allowed_start(labeled.text, span[0], profile)
    elif labeled.spans:
        start = labeled.spans[-1][0]
    else:
        return len(view.ids)
    return int(np.count_nonzero(view.starts < start))


def _extra_bos(ids: np.ndarray, bos_id: int | None, eos_id: int | None) -> int:
    """BOS tokens past a single leading one (when BOS is also EOS, only a doubled start counts)."""
    if bos_id is None or not len(ids):
        return 0
    if bos_id == eos_id:
        run = int(np.argmin(ids == bos_id)) if not (ids == bos_id).all() else len(ids)
        return max(0, run - 1)
    count = int(np.count_nonzero(ids == bos_id))
    return count - 1 if ids[0] == bos_id else count


def mask_segments(labeled: Labeled, limit: int = 4000, cut_at: int | None = None) -> list[dict[str, Any]]:
    """The rendering as alternating runs of ``{"text", "loss"}`` (and ``"cut"`` past max_seq_len)."""
    view = TokenView.of(labeled)
    text = labeled.text[:limit]
    real = np.flatnonzero(view.ends > view.starts)
    flags: list[tuple[int, bool, bool]] = []  # (char start, loss, cut)
    for k in real:
        start = int(view.starts[k])
        if start >= len(text):
            break
        state = (bool(view.loss[k]), bool(cut_at is not None and k >= cut_at))
        if not flags or (flags[-1][1], flags[-1][2]) != state:
            flags.append((0 if not flags else start, *state))
    if not flags:
        return [{"text": text, "loss": False}] if text else []
    bounds = [f[0] for f in flags[1:]] + [len(text)]
    segments: list[dict[str, Any]] = []
    for (start, loss, cut), stop in zip(flags, bounds, strict=True):
        seg: dict[str, Any] = {"text": text[start:stop], "loss": loss}
        if cut:
            seg["cut"] = True
        segments.append(seg)
    return segments
