"""Training vs export: an exported model folder, loaded the way a server loads it, renders as training did.

Checks (all errors; one finding per difference, per eval item for the ids):

========================  ==============================================================
export_chat_template      the exported ``chat_template`` is not the training one (first
                          differing character shown)
export_special_tokens     added tokens (id, content, special flag), vocabulary size, BOS,
                          PAD or UNK differ
export_eos                the exported EOS is not the training EOS (the end-of-turn)
export_generation_config  no ``generation_config.json``, or its ``eos_token_id`` lacks the
                          end-of-turn or another stop token: a server would not stop there
export_prompt_ids         an eval item's generation prompt or training rendering gives other
                          ids with the exported tokenizer
========================  ==============================================================
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.audit.evidence import cap_findings
from harness.audit.template_parity import first_difference
from harness.data.labels import RenderError
from harness.data.record import Record
from harness.models.template_ids import render_generation_prompt_ids, render_training_ids
from harness.results import CheckRun, Finding, Ref

CHECKS = ("export_chat_template", "export_special_tokens", "export_eos", "export_generation_config",
          "export_prompt_ids")
MAX_ITEM_FINDINGS = 20


@dataclass(frozen=True)
class ExportParity:
    """What the export checks found; ``ok`` when nothing."""

    folder: str
    findings: list[Finding]
    checks: list[CheckRun]
    compared: int

    @property
    def ok(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        """One line: what matched, or the first difference."""
        if self.ok:
            return (f"export parity: chat_template, special tokens, EOS and generation config match "
                    f"training; {self.compared} eval prompts render to the same ids")
        first = self.findings[0]
        more = f" (and {len(self.findings) - 1} more)" if len(self.findings) > 1 else ""
        return f"export parity failed for {self.folder}: {first.check}: {first.message}{more}"


def _finding(check: str, message: str, index: int | None = None, **details: Any) -> Finding:
    refs = [Ref(split="eval", index=index)] if index is not None else []
    return Finding(check=check, severity="error", message=message, refs=refs, details=details)


def _template_findings(trained: Any, exported: Any) -> list[Finding]:
    ours, theirs = str(trained.chat_template or ""), str(exported.chat_template or "")
    if ours == theirs:
        return []
    at = next((k for k, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b),
              min(len(ours), len(theirs)))
    return [_finding("export_chat_template", f"the exported chat_template differs at character {at}: "
                     f"{theirs[at:at + 30]!r} instead of {ours[at:at + 30]!r}", position=at)]


def _specials(tokenizer: Any) -> list[tuple[int, str, bool]]:
    return sorted((int(i), str(t), bool(t.special)) for i, t in tokenizer.added_tokens_decoder.items())


def _token_findings(trained: Any, exported: Any) -> list[Finding]:
    out = []
    ours, theirs = _specials(trained), _specials(exported)
    if ours != theirs:
        diff = sorted(set(ours) ^ set(theirs))[:5]
        out.append(_finding("export_special_tokens", f"added tokens differ (id, token, special): {diff}",
                            differing=[list(d) for d in diff]))
    for name in ("bos_token", "pad_token", "unk_token"):
        if getattr(trained, name) != getattr(exported, name):
            out.append(_finding("export_special_tokens", f"{name} is {getattr(exported, name)!r}, "
                                f"training used {getattr(trained, name)!r}", token=name))
    if len(trained) != len(exported):
        out.append(_finding("export_special_tokens", f"{len(exported)} ids in the exported tokenizer, "
                            f"training had {len(trained)}"))
    return out


def _eos_findings(trained: Any, exported: Any) -> list[Finding]:
    if (trained.eos_token, trained.eos_token_id) == (exported.eos_token, exported.eos_token_id):
        return []
    return [_finding("export_eos", f"EOS is {exported.eos_token!r} (id {exported.eos_token_id}); training "
                     f"ended turns with {trained.eos_token!r} (id {trained.eos_token_id})")]


def _generation_config_findings(folder: Path, stop_token_ids: Sequence[int]) -> list[Finding]:
    path = folder / "generation_config.json"
    if not path.is_file():
        return [_finding("export_generation_config", "no generation_config.json: a server falls back to "
                         "config.json's EOS and may not stop at the end-of-turn")]
    try:
        raw = json.loads(path.read_text(encoding="utf-8")).get("eos_token_id")
    except (ValueError, AttributeError):
        return [_finding("export_generation_config", "generation_config.json is not a JSON object")]
    listed = raw if isinstance(raw, list) else [] if raw is None else [raw]
    missing = [t for t in stop_token_ids if t not in listed]
    if not missing:
        return []
    return [_finding("export_generation_config", f"generation_config.json eos_token_id {listed} lacks stop "
                     f"token(s) {missing}: generation would run past the end-of-turn",
                     eos_token_id=listed, missing=missing)]


def _id_findings(trained: Any, exported: Any, records: Sequence[Record]) -> tuple[list[Finding], int]:
    out: list[Finding] = []
    compared = 0
    for rec in records:
        try:
            pairs = [("generation prompt", render_generation_prompt_ids(trained, rec),
                      render_generation_prompt_ids(exported, rec)),
                     ("training rendering", render_training_ids(trained, rec),
                      render_training_ids(exported, rec))]
        except RenderError:
            continue  # refused in training too: the template audit reports it
        compared += 1
        for what, ours, theirs in pairs:
            at = first_difference(ours, theirs)
            if at is not None:
                out.append(_finding("export_prompt_ids", f"the {what} differs at token {at}: exported "
                                    f"{theirs[at] if at < len(theirs) else '<end>'} vs training "
                                    f"{ours[at] if at < len(ours) else '<end>'}", rec.index, position=at))
                break
    return cap_findings(out, MAX_ITEM_FINDINGS, "export_prompt_ids", "error", "render differently"), compared


def export_parity(trained: Any, folder: Path, records: Sequence[Record], *,
                  stop_token_ids: Sequence[int]) -> ExportParity:
    """Load ``folder``'s tokenizer as a server would and compare it with the training ``trained``."""
    from transformers import AutoTokenizer

    start = time.perf_counter()
    exported = AutoTokenizer.from_pretrained(str(folder))
    ids, compared = _id_findings(trained, exported, records)
    found = {"export_chat_template": _template_findings(trained, exported),
             "export_special_tokens": _token_findings(trained, exported),
             "export_eos": _eos_findings(trained, exported),
             "export_generation_config": _generation_config_findings(folder, stop_token_ids),
             "export_prompt_ids": ids}
    seconds = round((time.perf_counter() - start) / len(CHECKS), 4)
    checks = [CheckRun(check=c, findings=len(found[c]), seconds=seconds,
                       params={"folder": str(folder), "stop_token_ids": list(stop_token_ids),
                               "items": compared})
              for c in CHECKS]
    return ExportParity(str(folder), [f for c in CHECKS for f in found[c]], checks, compared)


__all__ = ["CHECKS", "ExportParity", "export_parity"]
