"""Template parity: the model is prompted at scoring and after export exactly as it was trained.

Training vs generation (every eval item; also an audit check on the eval split):

=========================  ========  ============================================================
check                      severity  one finding per
=========================  ========  ============================================================
parity_generation_prompt   error     eval item whose scorer prompt ids are not the training ids
                                     before the final answer's loss (first differing token, both
                                     sides decoded, in ``details``)
parity_generation_header   error     template (once, refs: the items) whose generation prompt
                                     leaves the assistant header out: training puts loss on
                                     special tokens before the answer's content
parity_end_of_turn         error     template (once) whose end-of-turn token is not a stop token,
                                     so generation cannot stop where training taught it to
=========================  ========  ============================================================

How the answers ended (per model: stopped at the end-of-turn, at another stop token,
or ran to ``max_new_tokens``) is measured from the generations (:func:`stop_stats`).

Training vs export (:func:`export_parity`, run by ``harness export``): the exported
folder, loaded the way a server loads it, must carry the same ``chat_template``, added
tokens (ids, contents, special flags), EOS, a ``generation_config.json`` whose
``eos_token_id`` includes the end-of-turn, and render every eval prompt and training
example to the same ids. Checks ``export_chat_template``, ``export_special_tokens``,
``export_eos``, ``export_generation_config``, ``export_prompt_ids`` (all errors).

The id renderers shared with the scorer and other checks are
:func:`harness.models.template_ids.render_training_ids` and
:func:`~harness.models.template_ids.render_generation_prompt_ids`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.audit.evidence import CheckTimer, cap_findings
from harness.data.labels import IGNORE, Labeled, RenderError, label_records
from harness.data.record import Record
from harness.io import sha256_text
from harness.models.template_ids import answer_start, encode_rendered, generation_prompt_text
from harness.models.templates import PLAIN_TEMPLATE
from harness.results import (
    CheckRun,
    Finding,
    Ref,
    StopStats,
    TemplateInfo,
    TokenCell,
    TokenExample,
)

PROMPT_CHECK = "parity_generation_prompt"
HEADER_CHECK = "parity_generation_header"
END_CHECK = "parity_end_of_turn"
CHECKS = (PROMPT_CHECK, HEADER_CHECK, END_CHECK)
CONTEXT = 3  # tokens shown either side of the first difference
SHOWN_TOKENS = 240  # tokens of a rendering the report shows


@dataclass(frozen=True)
class ParityRun:
    """What the training-vs-generation checks found on one eval set."""

    findings: list[Finding]
    checks: list[CheckRun]
    compared: int
    examples: list[TokenExample] = field(default_factory=list)


def first_difference(a: Sequence[int], b: Sequence[int]) -> int | None:
    """The first position where two id lists differ (a shorter list differs at its end); None: equal."""
    n = min(len(a), len(b))
    for k in range(n):
        if a[k] != b[k]:
            return k
    return None if len(a) == len(b) else n


def _piece(tokenizer: Any, ids: Sequence[int], at: int) -> dict[str, Any]:
    """The token at ``at`` (decoded alone, ``None`` past the end) and its neighbours, for a finding."""
    tok = tokenizer.convert_ids_to_tokens
    return {"id": ids[at] if at < len(ids) else None, "token": tok(ids[at]) if at < len(ids) else None,
            "text": tokenizer.decode([ids[at]]) if at < len(ids) else "<end>",
            "around": tokenizer.decode(list(ids[max(0, at - CONTEXT) : at + CONTEXT + 1]))}


def generation_parity(tokenizer: Any, records: Sequence[Record], *, stop_token_ids: Sequence[int],
                      prompts: Mapping[int, str] | None = None, split: str = "eval",
                      examples: int = 1) -> ParityRun:
    """Compare each record's generation prompt ids with training's ids before its final answer.

    ``prompts``: the scorer's rendered prompt texts by record position (what it really feeds
    the model); None renders them here with the scorer's function. Records the template
    refuses are left to the ``template_render`` check.
    """
    start = time.perf_counter()
    chats = [(k, r) for k, r in enumerate(records) if not r.is_text and r.last_assistant_index is not None]
    labeled = label_records(tokenizer, [r for _, r in chats], None)
    found: dict[str, list[Finding]] = {c: [] for c in CHECKS}
    shown: list[TokenExample] = []
    headers: list[tuple[Record, str]] = []
    compared = 0
    specials = special_ids(tokenizer)
    for (pos, rec), lab in zip(chats, labeled, strict=True):
        prompt = _prompt_ids(tokenizer, rec, None if prompts is None else prompts.get(pos))
        if isinstance(lab, RenderError) or prompt is None:
            continue
        compared += 1
        cut = answer_start(lab, rec)
        trained = lab.input_ids[:cut]
        at = first_difference(prompt, trained)
        if at is not None:
            found[PROMPT_CHECK].append(_prompt_finding(tokenizer, rec, split, prompt, trained, at))
        header = _markup_before_answer(lab, rec, cut, specials)
        if header:
            headers.append((rec, tokenizer.decode(header)))
        if len(shown) < 2 * examples:
            item = f"{split}/{rec.index}"
            shown += [token_example(tokenizer, lab.input_ids, item, "training", lab.labels, cut),
                      token_example(tokenizer, prompt, item, "generation_prompt")]
    found[HEADER_CHECK] = _header_findings(headers, compared, split)
    end = _end_of_turn_finding(tokenizer, stop_token_ids)
    found[END_CHECK] = [end] if end is not None else []
    seconds = (time.perf_counter() - start) / len(CHECKS)
    params = {PROMPT_CHECK: {"split": split, "compared": compared,
                             "template_sha256": sha256_text(str(tokenizer.chat_template))[:16],
                             "prompt": "scorer's" if prompts is not None else "rendered here"},
              HEADER_CHECK: {"split": split, "markup": "special tokens"},
              END_CHECK: {"stop_token_ids": list(stop_token_ids), "end_of_turn": turn_end_token(tokenizer)}}
    checks = [CheckRun(check=c, findings=len(found[c]), seconds=seconds, params=params[c]) for c in CHECKS]
    return ParityRun([f for c in CHECKS for f in found[c]], checks, compared, shown)


def special_ids(tokenizer: Any) -> frozenset[int]:
    """Ids of the special tokens (BOS, EOS, the template's control tokens)."""
    ids = set(getattr(tokenizer, "all_special_ids", []) or [])
    ids |= {int(i) for i, t in tokenizer.added_tokens_decoder.items() if t.special}
    return frozenset(ids)


def _markup_before_answer(lab: Labeled, rec: Record, cut: int, specials: frozenset[int]) -> list[int]:
    """Special tokens that carry the final answer's loss before its content begins (a role header
    the generation prompt should have written, so the model learns to write it itself)."""
    span = lab.spans[-1] if lab.spans else None
    if span is None or cut >= len(lab.input_ids):
        return []
    content_at = lab.text.find(rec.response, span[0]) if rec.response else span[0]
    if content_at < 0:
        return []
    return [t for t, (s, e) in zip(lab.input_ids[cut:], lab.offsets[cut:], strict=False)
            if s < content_at and t in specials]


def _header_findings(headers: list[tuple[Record, str]], compared: int, split: str) -> list[Finding]:
    """One finding for the template (it is the template's doing), listing the items."""
    if not headers:
        return []
    text = headers[0][1]
    return [Finding(
        check=HEADER_CHECK, severity="error",
        refs=[Ref(split=split, index=r.index) for r, _ in headers],
        message=(f"on {len(headers)} of {compared} items the answer's loss starts with template markup "
                 f"{text!r}: the generation prompt does not open the assistant turn, so the model is "
                 "trained to write it and generation starts one step behind"),
        details={"markup": text, "items": len(headers), "compared": compared})]


def run_parity_audit(timer: CheckTimer, tokenizer: Any, evals: Sequence[Record] | None, cap: int) -> None:
    """The training-vs-generation checks as audit checks on the eval split (EOS as the stop token;
    a suite's extra stop tokens are checked again when it is scored)."""
    if tokenizer is None or not evals:
        for check in CHECKS:
            timer.skipped(check, "no tokenizer given" if tokenizer is None else "no eval set")
        return
    current = getattr(tokenizer, "chat_template", None)
    if not (isinstance(current, str) and current.strip()):
        tokenizer.chat_template = PLAIN_TEMPLATE  # what training uses then (the template audit says so)
    eos = getattr(tokenizer, "eos_token_id", None)
    run = generation_parity(tokenizer, evals, stop_token_ids=[eos] if isinstance(eos, int) else [])
    for check_run in run.checks:
        found = [f for f in run.findings if f.check == check_run.check]
        timer.findings.extend(cap_findings(found, cap, check_run.check, "error", "differ the same way"))
        timer.runs.append(check_run)


def _prompt_ids(tokenizer: Any, rec: Record, text: str | None) -> list[int] | None:
    if text is None:
        try:
            text = generation_prompt_text(tokenizer, rec)
        except RenderError:
            return None
    return encode_rendered(tokenizer, text)


def _prompt_finding(tokenizer: Any, rec: Record, split: str, prompt: list[int], trained: list[int],
                    at: int) -> Finding:
    ours, theirs = _piece(tokenizer, prompt, at), _piece(tokenizer, trained, at)
    return Finding(
        check=PROMPT_CHECK, severity="error", refs=[Ref(split=split, index=rec.index)],
        message=(f"the generation prompt differs from what training saw before the answer at token {at}: "
                 f"prompt {ours['text']!r} (id {ours['id']}) vs training {theirs['text']!r} "
                 f"(id {theirs['id']})"),
        details={"position": at, "prompt": ours, "training": theirs, "prompt_tokens": len(prompt),
                 "training_prompt_tokens": len(trained)})


def turn_end_token(tokenizer: Any) -> str | None:
    """The control token the template writes after an assistant turn (None when it writes none)."""
    from harness.models.template_clone import CloneSourceError, end_of_turn

    try:
        return end_of_turn(tokenizer, None)
    except CloneSourceError:
        return None


def _end_of_turn_finding(tokenizer: Any, stop_token_ids: Sequence[int]) -> Finding | None:
    token = turn_end_token(tokenizer)
    if token is None:
        return None
    tid = int(tokenizer.convert_tokens_to_ids(token))
    if tid in stop_token_ids:
        return None
    return Finding(check=END_CHECK, severity="error",
                   message=f"the template ends a turn with {token!r} (id {tid}), which is not a stop token "
                           f"({list(stop_token_ids)}): answers run on past their end-of-turn",
                   details={"end_of_turn": token, "end_of_turn_id": tid,
                            "stop_token_ids": list(stop_token_ids)})


def token_example(tokenizer: Any, ids: Sequence[int], item_id: str, kind: str,
                  labels: Sequence[int] | None = None, cut: int | None = None) -> TokenExample:
    """A rendering as token cells (each its vocabulary piece, so whitespace shows) with loss marked."""
    specials = special_ids(tokenizer)
    pieces = tokenizer.convert_ids_to_tokens([int(t) for t in ids[:SHOWN_TOKENS]])
    cells = [TokenCell(id=int(t), text=str(pieces[k]),
                       loss=bool(labels is not None and labels[k] != IGNORE), special=int(t) in specials)
             for k, t in enumerate(ids[:SHOWN_TOKENS])]
    return TokenExample(item_id=item_id, kind=kind, tokens=cells, answer_start=cut,
                        left_out=max(0, len(ids) - SHOWN_TOKENS))


def stop_stats(model: str, generations: Mapping[str, Mapping[str, Any]], *, end_of_turn_id: int | None,
               max_new_tokens: int) -> StopStats:
    """How ``model``'s answers ended, from its generation records (``stop``: the id that ended it)."""
    stops = [g.get("stop") for g in generations.values()]
    return StopStats(model=model, items=len(stops), stopped=sum(s is not None for s in stops),
                     end_of_turn=sum(s is not None and s == end_of_turn_id for s in stops),
                     unterminated=sum(s is None for s in stops), max_new_tokens=max_new_tokens)


def describe_template(tokenizer: Any, *, source: str, clone: Any = None,
                      stop_token_ids: Sequence[int] = ()) -> TemplateInfo:
    """The template facts a run records (``clone``: a :class:`ClonedTemplate`, or None)."""
    end = turn_end_token(tokenizer)
    end_id = int(tokenizer.convert_tokens_to_ids(end)) if end is not None else None
    template = str(tokenizer.chat_template)
    added = sorted((i, str(t), bool(t.special)) for i, t in tokenizer.added_tokens_decoder.items())
    return TemplateInfo(
        source=source, template_sha256=sha256_text(template), clone_source=clone.source if clone else None,
        added_tokens=list(clone.added_tokens) if clone else [], added_ids=list(clone.added) if clone else [],
        eos_token=tokenizer.eos_token, eos_token_id=tokenizer.eos_token_id, end_of_turn=end,
        end_of_turn_id=end_id, stop_token_ids=list(stop_token_ids), vocab_size=len(tokenizer),
        fingerprint=sha256_text(template, repr(added), str(tokenizer.eos_token_id), str(len(tokenizer))))


def template_hash(info: TemplateInfo) -> str:
    """``results.json`` hashes ``template``: where the template came from, and its fingerprint.

    A clone source is named by its file or folder name: the same source compares equal from
    any checkout (the fingerprint holds the content).
    """
    where = f"clone of {Path(info.clone_source).name}" if info.clone_source else info.source
    return f"{where}:{info.fingerprint[:16]}"


__all__ = ["CHECKS", "END_CHECK", "HEADER_CHECK", "PROMPT_CHECK", "ParityRun", "describe_template",
           "first_difference", "generation_parity", "run_parity_audit", "special_ids", "stop_stats",
           "template_hash", "token_example", "turn_end_token"]
