"""Chat-template and loss-mask audit: render every conversation the way training will, and check it.

Everything runs against the target tokenizer and its own ``chat_template``
(rendered through ``apply_chat_template``); the labels are built by
:func:`harness.data.labels.label_records`, the function training uses.

Checks (stable names; severities in :mod:`harness.audit.template_findings`):

* ``no_chat_template``: the tokenizer has no template; the documented plain one is used (once).
* ``template_render``: the template raised (a Jinja ``raise_exception``, "roles must
  alternate"...); or it silently dropped a user/assistant turn's content.
* ``unknown_role``: a role other than system/user/assistant (tool roles only when the
  template drops or refuses them).
* ``role_order``, ``missing_final_assistant``, ``empty_assistant``: see
  :mod:`harness.audit.template_roles`.
* ``system_unsupported``: a system turn, and the template raises on system turns or drops them.
* ``foreign_control_tokens`` / ``own_special_tokens``: see :mod:`harness.audit.control_tokens`.
* ``prerendered``: see :mod:`harness.audit.template_prerendered`.
* ``echoed_system_prompt``: an assistant turn opens by repeating the system prompt.
* ``double_bos``: more than one BOS token in the tokenized record (or BOS past position 0).
* ``missing_eos``: an assistant turn's loss holds no end-of-turn/EOS token.
* ``truncation_prompt`` / ``truncation_response``: the record is longer than ``max_seq_len``
  and the prompt alone fills it / the response is cut.
* ``loss_mask``: no token carries loss, prompt tokens carry loss, or assistant content does
  not (see :mod:`harness.audit.masking`).

Plain-text records (``text`` format) get the content checks only (control tokens,
pre-rendered text): they have no turns to template.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.audit.control_tokens import Hit, MarkerSet, build_markers, control_token_ids, scan
from harness.audit.masking import MaskCheck, check_mask, mask_segments
from harness.audit.template_findings import FindingLog, excerpt
from harness.audit.template_prerendered import find_prerendered, own_structure
from harness.audit.template_probe import (
    Regions,
    TemplateProfile,
    probe_template,
    skeleton_messages,
    skeleton_regions,
)
from harness.audit.template_roles import ECHO_MIN_CHARS, TOOL_ROLES, role_issues
from harness.data.labels import Labeled, RenderError, label_records, render_many
from harness.data.record import ASSISTANT, SYSTEM, USER, Record
from harness.io import sha256_text
from harness.models.templates import PLAIN_TEMPLATE
from harness.progress import progress_bar
from harness.results import CheckRun, Finding

TEXT_HEAD = 120
Labeler = Callable[[Any, Sequence[Record]], "list[Labeled | RenderError]"]
BATCH = 512


@dataclass(frozen=True)
class TemplateAudit:
    findings: list[Finding]
    checks: list[CheckRun]  # one CheckRun per template check, even when it found nothing
    summary: dict[str, Any]  # lengths, truncation, template source, "examples" (rendered + loss mask)


@dataclass(frozen=True)
class _Context:
    tokenizer: Any
    profile: TemplateProfile
    markers: MarkerSet
    control_ids: frozenset[int]
    bos_id: int | None
    eos_id: int | None
    max_seq_len: int | None


def audit_templates(tokenizer: Any, records: Sequence[Record], *, split: str,
                    max_seq_len: int | None, show: int = 5, progress: bool = False,
                    labeler: Labeler = label_records) -> TemplateAudit:
    """Audit ``records`` against ``tokenizer``'s chat template (see the module docstring).

    A tokenizer without a template gets :data:`PLAIN_TEMPLATE` set on it (what
    ``load_tokenizer`` does) and one ``no_chat_template`` warning. ``labeler`` builds the
    labels; it is :func:`label_records` (batched) except in the benchmark's naive reference.
    """
    started = time.perf_counter()
    log = FindingLog(split)
    fallback = _ensure_template(tokenizer)
    with log.timed(("no_chat_template", "system_unsupported")):
        ctx = _context(tokenizer, max_seq_len)
    if fallback:
        log.add("no_chat_template", None, "the tokenizer has no chat template: the documented plain "
                "template is used; set one (suite base.chat_template) if the model was trained with one")
    _set_params(log, ctx, tokenizer.chat_template, fallback)
    with log.timed(("foreign_control_tokens", "own_special_tokens", "prerendered")):
        _content_checks(log, ctx, records)
    chats = [r for r in records if not r.is_text]
    lengths: list[tuple[int, int]] = []
    examples: list[dict[str, Any]] = []
    # Rendering and labeling are part of these checks' cost: timed with them.
    with log.timed(("template_render", "unknown_role", "role_order", "missing_final_assistant",
                    "empty_assistant", "system_unsupported", "echoed_system_prompt", "double_bos",
                    "missing_eos", "truncation_prompt", "truncation_response", "loss_mask")):
        labeled, skeletons = _label(tokenizer, chats, labeler, progress)
        for rec, lab, skeleton in zip(chats, labeled, skeletons, strict=True):
            result = _record_checks(log, ctx, rec, lab, skeleton)
            if result is not None and isinstance(lab, Labeled):
                lengths.append((result.prompt_tokens, result.total_tokens - result.prompt_tokens))
                if len(examples) < show:
                    examples.append(_example(rec, lab, max_seq_len))
    summary = _summary(ctx, records, chats, lengths, fallback, tokenizer.chat_template)
    summary["seconds"] = round(time.perf_counter() - started, 3)
    summary["examples"] = examples
    return TemplateAudit(findings=log.findings(), checks=log.check_runs(), summary=summary)


def _ensure_template(tokenizer: Any) -> bool:
    """True when the template in use is the plain fallback (set here if the tokenizer had none)."""
    current = getattr(tokenizer, "chat_template", None)
    if not (isinstance(current, str) and current.strip()):
        tokenizer.chat_template = PLAIN_TEMPLATE
        return True
    return bool(current == PLAIN_TEMPLATE)


def _context(tokenizer: Any, max_seq_len: int | None) -> _Context:
    bos = getattr(tokenizer, "bos_token_id", None)
    eos = getattr(tokenizer, "eos_token_id", None)
    return _Context(tokenizer=tokenizer, profile=probe_template(tokenizer),
                    markers=build_markers(tokenizer, str(tokenizer.chat_template)),
                    control_ids=frozenset(control_token_ids(tokenizer)),
                    bos_id=bos if isinstance(bos, int) else None,
                    eos_id=eos if isinstance(eos, int) else None, max_seq_len=max_seq_len)


def _set_params(log: FindingLog, ctx: _Context, template: str, fallback: bool) -> None:
    source = "plain fallback" if fallback else "tokenizer"
    for check in log.params:
        log.params[check] = {"template": source}
    log.params["system_unsupported"]["system"] = ctx.profile.system
    log.params["truncation_prompt"]["max_seq_len"] = ctx.max_seq_len
    log.params["truncation_response"]["max_seq_len"] = ctx.max_seq_len
    own = sorted(m.text for m in ctx.markers.markers.values() if m.own)
    log.params["own_special_tokens"]["markers"] = own
    log.params["foreign_control_tokens"]["markers"] = len(ctx.markers.markers) - len(own)
    log.params["echoed_system_prompt"]["min_chars"] = ECHO_MIN_CHARS
    log.params["missing_eos"]["turn_end"] = ctx.profile.turn_end
    log.params["template_render"]["template_sha256"] = sha256_text(template)[:16]


def _label(tokenizer: Any, chats: Sequence[Record], labeler: Labeler, progress: bool
           ) -> tuple[list[Labeled | RenderError], list[str | RenderError]]:
    """Labels (what training sees) and sentinel skeletons (where the turns are), in batches."""
    labeled: list[Labeled | RenderError] = []
    skeletons: list[str | RenderError] = []
    with progress_bar(progress) as bar:
        task = bar.add_task("rendering and labeling", total=len(chats))
        for start in range(0, len(chats), BATCH):
            chunk = chats[start : start + BATCH]
            labeled.extend(labeler(tokenizer, chunk))
            skeletons.extend(render_many(tokenizer, [skeleton_messages(r) for r in chunk]))
            bar.advance(task, len(chunk))
    return labeled, skeletons


def _content_checks(log: FindingLog, ctx: _Context, records: Sequence[Record]) -> None:
    """Control tokens (one regex pass over every content) and pre-rendered text, per record."""
    owners = [(r, k) for r in records for k in range(len(r.turns))]
    contents = [r.turns[k].content for r, k in owners]
    per_record: dict[int, list[tuple[int, Hit]]] = {}
    for hit in scan(contents, ctx.markers):
        owner, turn_no = owners[hit.text_index]
        per_record.setdefault(id(owner), []).append((turn_no, hit))
    own_structure_ = own_structure(ctx.profile)
    for rec in records:
        hits = per_record.get(id(rec), [])
        _marker_findings(log, rec, [h for h in hits if h[1].marker.own], own=True)
        _marker_findings(log, rec, [h for h in hits if not h[1].marker.own], own=False)
        for k, turn in enumerate(rec.turns):
            found = find_prerendered(turn.content, own_structure_)
            if found is not None:
                log.add("prerendered", rec, f"turn {k} ({turn.role}) holds an already rendered "
                        f"conversation: {found.kind}", excerpt(turn.content, found.start, found.end),
                        turn=k, kind=found.kind)
                break


def _marker_findings(log: FindingLog, rec: Record, hits: list[tuple[int, Hit]], *, own: bool) -> None:
    if not hits:
        return
    tokens = sorted({h.marker.text for _, h in hits})
    turn, first = hits[0]
    text = excerpt(rec.turns[turn].content, first.start, first.start + len(first.marker.text))
    if own:
        special = any(h.marker.special for _, h in hits)
        what = ("this model's control tokens (they tokenize as control tokens, not text)" if special
                else "this model's template markers")
        log.add("own_special_tokens", rec, f"content holds {what}: {', '.join(tokens)}", text,
                severity="error" if special else "warning", tokens=tokens, turn=turn)
        return
    families = sorted({h.marker.family for _, h in hits})
    log.add("foreign_control_tokens", rec, f"content holds control tokens of {', '.join(families)}: "
            f"{', '.join(tokens)}", text, tokens=tokens, families=families, turn=turn)


def _record_checks(log: FindingLog, ctx: _Context, rec: Record, lab: Labeled | RenderError,
                   skeleton: str | RenderError) -> MaskCheck | None:
    if isinstance(lab, RenderError):
        log.add("template_render", rec, f"the chat template refused this conversation: {lab}", str(lab),
                roles=[t.role for t in rec.turns])
        regions: Regions | None = None
    else:
        regions = skeleton_regions(rec, lab.text, skeleton)
    dropped = set(regions.dropped) if regions is not None else set()
    _role_findings(log, ctx, rec, dropped, failed=regions is None)
    if regions is None or not isinstance(lab, Labeled):
        return None
    lost = [j for j in sorted(dropped) if rec.turns[j].role in (USER, ASSISTANT)]
    if lost:
        gone = rec.turns[lost[0]]
        log.add("template_render", rec, f"the template dropped turn {lost[0]} ({gone.role}) without an "
                "error: the model never sees it", gone.content, severity="warning", turns=lost)
    result = check_mask(rec, lab, regions, ctx.profile, ctx.control_ids, ctx.bos_id, ctx.eos_id)
    _mask_findings(log, ctx, rec, lab, result)
    return result


def _role_findings(log: FindingLog, ctx: _Context, rec: Record, dropped: set[int], *, failed: bool
                   ) -> None:
    fate = ("the template refused the conversation" if failed else
            "the template drops it silently" if dropped else "the template renders it")
    for issue in role_issues(rec):
        message = f"{issue.message}: {fate}" if issue.check == "unknown_role" else issue.message
        log.add(issue.check, rec, message, issue.text, turn=issue.turn)
    tools = [k for k, t in enumerate(rec.turns) if t.role in TOOL_ROLES and (failed or k in dropped)]
    if tools:
        k = tools[0]
        log.add("unknown_role", rec, f"role {rec.turns[k].role!r} (turn {k}): "
                f"{'the template refused the conversation' if failed else 'the template drops it'}",
                rec.turns[k].content, turn=k)
    systems = [k for k, t in enumerate(rec.turns) if t.role == SYSTEM]
    if not systems:
        return
    k = systems[0]
    if ctx.profile.system == "raises":
        why = f"the template has no system role (it raises: {ctx.profile.system_error})"
    elif ctx.profile.system == "dropped" or any(j in dropped for j in systems):
        why = "the template drops the system turn silently: the model never sees it"
    else:
        return
    log.add("system_unsupported", rec, why, rec.turns[k].content, turn=k, template=ctx.profile.system)


def _mask_findings(log: FindingLog, ctx: _Context, rec: Record, lab: Labeled, m: MaskCheck) -> None:
    if m.empty:
        log.add("loss_mask", rec, "no token carries loss: nothing in this record is trained",
                problem="empty")
    if m.leaked:
        log.add("loss_mask", rec, "prompt tokens carry loss: the model is trained to write the prompt",
                m.leaked, problem="prompt")
    if m.unlearned:
        log.add("loss_mask", rec, "assistant tokens carry no loss: part of the response is not trained",
                m.unlearned, problem="unlearned")
    if m.extra_bos:
        log.add("double_bos", rec, f"{m.extra_bos + 1} BOS tokens (or one past the start) after "
                "tokenization", lab.text[:TEXT_HEAD], bos_tokens=m.extra_bos + 1)
    if m.missing_eos:
        k = m.missing_eos[0]
        turns = ", ".join(map(str, m.missing_eos))
        log.add("missing_eos", rec, f"assistant turn {turns} ends without an end-of-turn or EOS token "
                "that carries loss: the model does not learn to stop", rec.turns[k].content[-TEXT_HEAD:],
                turns=list(m.missing_eos), turn_end=ctx.profile.turn_end)
    limit = ctx.max_seq_len
    if limit is None or m.total_tokens <= limit:
        return
    if m.prompt_tokens >= limit:
        log.add("truncation_prompt", rec, f"the prompt alone is {m.prompt_tokens} tokens, over "
                f"max_seq_len {limit}: the response is cut away entirely", rec.prompt,
                prompt_tokens=m.prompt_tokens, max_seq_len=limit)
    else:
        response = m.total_tokens - m.prompt_tokens
        log.add("truncation_response", rec, f"{m.total_tokens} tokens, over max_seq_len {limit}: "
                f"{limit - m.prompt_tokens} of {response} response tokens kept, the end (and EOS) is cut",
                rec.response, prompt_tokens=m.prompt_tokens, response_tokens=response, max_seq_len=limit)


def _example(rec: Record, lab: Labeled, max_seq_len: int | None) -> dict[str, Any]:
    cut = max_seq_len if max_seq_len is not None and len(lab.input_ids) > max_seq_len else None
    return {"index": rec.index, "tokens": len(lab.input_ids), "loss_tokens": lab.loss_tokens,
            "truncated": cut is not None, "segments": mask_segments(lab, cut_at=cut)}


def _percentiles(values: list[int]) -> dict[str, float]:
    if not values:
        return {}
    arr = np.asarray(values, dtype=np.float64)
    p50, p90, p95, p99 = np.percentile(arr, [50, 90, 95, 99])
    return {"p50": float(p50), "p90": float(p90), "p95": float(p95), "p99": float(p99),
            "max": float(arr.max()), "mean": round(float(arr.mean()), 2)}


def _summary(ctx: _Context, records: Sequence[Record], chats: Sequence[Record],
             lengths: list[tuple[int, int]], fallback: bool, template: str) -> dict[str, Any]:
    prompts = [p for p, _ in lengths]
    responses = [r for _, r in lengths]
    limit = ctx.max_seq_len
    over = [p + r > limit for p, r in lengths] if limit is not None else []
    prompt_over = [p >= limit for p, r in lengths if p + r > limit] if limit is not None else []
    return {
        "tokenizer": str(getattr(ctx.tokenizer, "name_or_path", "")),
        "template_source": "plain fallback (tokenizer has no chat template)" if fallback else "tokenizer",
        "template_sha256": sha256_text(template)[:16],
        "system_support": ctx.profile.system,
        "records": len(records), "chat_records": len(chats), "text_records": len(records) - len(chats),
        "rendered": len(lengths), "render_failures": len(chats) - len(lengths),
        "max_seq_len": limit,
        "prompt_tokens": _percentiles(prompts), "response_tokens": _percentiles(responses),
        "total_tokens": _percentiles([p + r for p, r in lengths]),
        "truncation_rate": (sum(over) / len(over)) if over else (0.0 if limit is not None else None),
        "truncated": {"prompt": sum(prompt_over), "response": len(prompt_over) - sum(prompt_over)},
    }
