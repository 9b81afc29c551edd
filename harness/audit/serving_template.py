"""Training against serving: does the server's chat template feed the model the tokens training did?

``serving_template_audit(tokenizer, records, serving)`` renders conversations the
way training does (the generation prompt the scorer feeds the model,
:func:`harness.models.template_ids.render_generation_prompt`) and the way the server does
(:class:`~harness.templates.serving.ServingTemplate`: a Jinja file as vLLM uses it,
an Ollama Modelfile or Go template as Ollama does), each cut before an assistant
answer: a bounded, evenly spaced sample of the dataset's rows (up to ``limit``) and
fixed probes (one turn, with a system turn, multi-turn, multi-turn with a system
turn). Probes the training template refuses (system turns on Mistral or Gemma) are
skipped and counted.

Check ``serving_template`` (severity ``error``: a served model fed other tokens than
it was trained on "trained fine but outputs garbage"), one finding per family of
difference (:mod:`harness.audit.serving_classify` lists them), with ``details``:
``family``, ``conversations`` (how many), ``rows`` and ``probes``, and ``example``:
the first conversation's two renders (escaped, cut around the difference), the
character offsets and the first differing token on each side (position, id, text).
A Modelfile's ``PARAMETER stop`` lines are checked against the end of turn training
taught (``missing_end_of_turn`` with ``details.stop``): a server that does not stop
there lets the model run on.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.audit.serving_classify import FAMILIES, Difference, Side, Unit, classify
from harness.audit.serving_layout import (
    Layout,
    default_system,
    marker_pattern,
    markers_in,
    sentinel_turns,
    skeleton,
    training_layout,
)
from harness.audit.template_probe import probe_template
from harness.data.labels import RenderError, render
from harness.data.record import ASSISTANT, SYSTEM, USER, Record
from harness.models.template_ids import generation_prompt_text, render_generation_prompt
from harness.results import AuditResult, CheckRun, Finding, Ref
from harness.templates.serving import ServingRenderError, ServingTemplate

CHECK = "serving_template"
LIMIT = 200
MAX_REFS = 50
WINDOW = 160
PROBES: dict[str, tuple[tuple[str, str], ...]] = {
    "one turn": ((USER, "What is the capital of France?"),),
    "with a system turn": ((SYSTEM, "You are a concise geography tutor."),
                           (USER, "What is the capital of France?")),
    "multi-turn": ((USER, "What is the capital of France?"), (ASSISTANT, "The capital of France is Paris."),
                   (USER, "And of Italy?")),
    "multi-turn with a system turn": ((SYSTEM, "You are a concise geography tutor."),
                                      (USER, "Name a river in Spain."), (ASSISTANT, "The Ebro."),
                                      (USER, "And one in Portugal?"), (ASSISTANT, "The Tagus."),
                                      (USER, "Which is longer?")),
}
MESSAGES = {
    "wrong_family": "the serving template is of another family than training's (other control markers)",
    "bos_doubled": "the served prompt starts with more BOS tokens than training's",
    "bos_missing": "the served prompt lacks the BOS token training starts with",
    "system_prompt_dropped": "a system prompt training renders (the row's own, or the template's "
                             "default) is missing from the served prompt",
    "system_prompt_added": "the server writes a system prompt training never had",
    "missing_end_of_turn": "a turn ends with other tokens than in training (or the server does not "
                           "stop where training ends a turn)",
    "missing_generation_prompt": "the served prompt does not end with the generation prompt training "
                                 "puts before every answer",
    "whitespace": "the renders differ only in whitespace or newlines, which tokenize differently",
    "turn_header": "a role header differs from training's",
    "render_error": "the serving template fails on conversations training renders",
    "other": "the served prompt differs from training's",
}


@dataclass(frozen=True)
class ServingAudit:
    findings: list[Finding]
    check: CheckRun
    summary: dict[str, Any]


def units_of(records: Sequence[Record], limit: int = LIMIT) -> list[Unit]:
    """Probes, then up to ``limit`` evenly spaced rows, each cut before its last assistant answer."""
    units = [Unit(tuple(r for r, _ in turns), tuple(c for _, c in turns), f"probe:{name}", None)
             for name, turns in PROBES.items()]
    usable = [r for r in records if _cut(r) is not None]
    step = max(1, len(usable) / limit) if usable else 1
    for j in range(min(limit, len(usable))):
        rec = usable[int(j * step)]
        turns = _cut(rec)
        assert turns is not None
        units.append(Unit(tuple(t.role for t in turns), tuple(t.content for t in turns),
                          f"train#{rec.index}", rec.index))
    return units


def _cut(rec: Record) -> tuple[Any, ...] | None:
    last = rec.last_assistant_index
    if rec.is_text or last is None or last == 0:
        return None
    turns = rec.turns[:last]
    ok = turns[-1].role == USER and all(t.role in (SYSTEM, USER, ASSISTANT) for t in turns)
    return turns if ok else None


@dataclass(frozen=True)
class Outcome:
    """One conversation compared: its differences (one per family, first first); None: training refused."""

    unit: Unit
    differences: list[tuple[Difference, Side | None, Side | None]] | None

    @property
    def differs(self) -> bool:
        return bool(self.differences)


def compare_units(tokenizer: Any, records: Sequence[Record], serving: ServingTemplate, *,
                  limit: int = LIMIT) -> tuple[list[Outcome], dict[str, Any] | None, _Context]:
    """Every unit's outcome, the stop problem (None: none or not checked), and the context used."""
    ctx = _Context(tokenizer, serving)
    outcomes = []
    for unit in units_of(records, limit):
        result = ctx.compare(unit)
        outcomes.append(Outcome(unit, None if result is None else _first_per_family(result)))
    return outcomes, ctx.stop_problem(), ctx


def _first_per_family(found: list[tuple[Difference, Side | None, Side | None]]
                      ) -> list[tuple[Difference, Side | None, Side | None]]:
    """A conversation counts once per family, at its first difference of that family."""
    out: dict[str, tuple[Difference, Side | None, Side | None]] = {}
    for item in found:
        out.setdefault(item[0].family, item)
    return list(out.values())


def serving_template_audit(tokenizer: Any, records: Sequence[Record], serving: ServingTemplate, *,
                           limit: int = LIMIT) -> ServingAudit:
    """Compare training and serving renders (see the module docstring)."""
    started = time.perf_counter()
    outcomes, stop, ctx = compare_units(tokenizer, records, serving, limit=limit)
    per_family: dict[str, list[tuple[Unit, Difference, Side | None, Side | None]]] = {}
    for outcome in outcomes:
        for diff, t, s in outcome.differences or []:
            per_family.setdefault(diff.family, []).append((outcome.unit, diff, t, s))
    compared = sum(o.differences is not None for o in outcomes)
    wanted = [f for f in FAMILIES if per_family.get(f) or (stop and f == "missing_end_of_turn")]
    findings = [_finding(f, per_family.get(f, []), compared, stop if f == "missing_end_of_turn" else None,
                         tokenizer) for f in wanted]
    seconds = time.perf_counter() - started
    summary = {"file": str(serving.path), "kind": serving.kind, "bos_rule": serving.bos_rule,
               "compared": compared, "refused_by_training": len(outcomes) - compared,
               "families": {f: len(per_family[f]) for f in FAMILIES if per_family.get(f)},
               "stops": list(serving.stops), "stop_checked": bool(serving.stops),
               "training_default_system": ctx.layout.default_system,
               "serving_default_system": ctx.serving_default, "seconds": round(seconds, 3)}
    check = CheckRun(check=CHECK, findings=len(findings), seconds=round(seconds, 6),
                     params={"file": str(serving.path), "kind": serving.kind, "limit": limit,
                             "probes": list(PROBES), "bos_rule": serving.bos_rule,
                             "stops": list(serving.stops)})
    return ServingAudit(findings=findings, check=check, summary=summary)


class _Context:
    """The tokenizer, both templates and what is learned once about them."""

    def __init__(self, tokenizer: Any, serving: ServingTemplate) -> None:
        self.tokenizer = tokenizer
        self.serving = serving
        bos = getattr(tokenizer, "bos_token", None)
        self.bos = bos if isinstance(bos, str) and bos else None
        bos_id = getattr(tokenizer, "bos_token_id", None)
        self.bos_id = bos_id if isinstance(bos_id, int) else None
        self.pattern = marker_pattern(tokenizer)
        self.layout: Layout = training_layout(self.train_render, self.train_closed, tokenizer,
                                              probe_template(tokenizer).turn_end)
        self.serving_default = serving.system or default_system(self.serve_render, self.bos)
        self.serving_adds = serving.adds_special(tokenizer)

    def train_render(self, turns: Sequence[tuple[str, str]]) -> str:
        return generation_prompt_text(self.tokenizer, _answering(turns))

    def train_closed(self, turns: Sequence[tuple[str, str]]) -> str:
        return render(self.tokenizer, [{"role": r, "content": c} for r, c in turns])

    def serve_render(self, turns: Sequence[tuple[str, str]]) -> str:
        return self.serving.render(self.tokenizer, turns)

    def compare(self, unit: Unit) -> list[tuple[Difference, Side | None, Side | None]] | None:
        """The unit's differences; None when the training template refuses it (not comparable)."""
        turns = list(zip(unit.roles, unit.contents, strict=True))
        try:
            trained = render_generation_prompt(self.tokenizer, _answering(turns))
            t_skel = self.train_render(sentinel_turns(unit.roles))
        except RenderError:
            return None
        t = self.side(trained.text, trained.ids, trained.offsets, t_skel)
        try:
            s_text, s_skel = self.serve_render(turns), self.serve_render(sentinel_turns(unit.roles))
            enc = self.tokenizer(s_text, add_special_tokens=self.serving_adds, return_offsets_mapping=True)
            s = self.side(s_text, list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]], s_skel)
        except ServingRenderError as exc:
            return [(Difference("render_error", (0, 0), str(exc)), t, None)]
        return [(d, t, s) for d in classify(unit, t, s, self.layout, self.serving_default, self.bos_id)]

    def side(self, text: str, ids: list[int], offsets: list[tuple[int, int]], skel: str) -> Side:
        sk = skeleton(skel, self.bos)
        body = text
        while self.bos and body.startswith(self.bos):
            body = body[len(self.bos):]
        return Side(text, ids, offsets, sk, markers_in(sk.scaffold(), self.tokenizer, self.pattern), body)

    def stop_problem(self) -> dict[str, Any] | None:
        """A Modelfile whose stop strings and EOS miss the end of turn training taught, else None."""
        end = self.layout.assistant_end.lstrip()
        if not self.serving.stops or not end.strip():
            return None
        eos = getattr(self.tokenizer, "eos_token", None)
        if any(end.startswith(s) for s in self.serving.stops if s) or (eos and end.startswith(str(eos))):
            return None
        return {"turn_end": self.layout.assistant_end, "stops": list(self.serving.stops), "eos": eos}


def _answering(turns: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """Turns cut before an answer, as the conversation whose final assistant answer is to come."""
    return [*({"role": r, "content": c} for r, c in turns), {"role": ASSISTANT, "content": ""}]


def _finding(family: str, hits: list[tuple[Unit, Difference, Side | None, Side | None]], compared: int,
             stop: dict[str, Any] | None, tokenizer: Any) -> Finding:
    rows = [u.index for u, _, _, _ in hits if u.index is not None]
    probes = sorted({u.label for u, _, _, _ in hits if u.index is None})
    details: dict[str, Any] = {"family": family, "conversations": len(hits), "compared": compared,
                               "rows": len(rows), "probes": probes}
    message = f"{family}: {MESSAGES[family]}"
    if hits:
        unit, diff, t, s = hits[0]
        details["example"] = _example(unit, diff, t, s, tokenizer)
        message += f" ({len(hits)} of {compared} conversations; first: {unit.label}: {diff.why})"
    if stop is not None:
        details["stop"] = stop
        message += (f"; the model learned to end its turn with {stop['turn_end']!r} but the server stops on "
                    f"{stop['stops']} and EOS {stop['eos']!r}")
    refs = [Ref(split="train", index=i) for i in dict.fromkeys(rows)][:MAX_REFS]
    return Finding(check=CHECK, severity="error", message=message, refs=refs, details=details)


def _example(unit: Unit, diff: Difference, t: Side | None, s: Side | None, tokenizer: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"conversation": unit.label, "why": diff.why}
    for name, side, at in (("training", t, diff.char[0]), ("serving", s, diff.char[1])):
        if side is None:
            continue
        token = diff.token[0 if name == "training" else 1] if diff.token else _token_at(side, at)
        out[name] = {"render": escape(_window(side.text, at)), "char": at, "token_position": token,
                     "token_id": side.ids[token] if token < len(side.ids) else None,
                     "token": escape(_piece(tokenizer, side.ids, token))}
    return out


def _token_at(side: Side, char: int) -> int:
    """The first token that ends after ``char`` (BOS added by the tokenizer has an empty span)."""
    for k, (a, b) in enumerate(side.offsets):
        if b > char or (a == b == 0 and char == 0):
            return k
    return len(side.ids)


def _piece(tokenizer: Any, ids: Sequence[int], k: int) -> str:
    return str(tokenizer.convert_ids_to_tokens(ids[k])) if k < len(ids) else "(end of prompt)"


def _window(text: str, at: int) -> str:
    lo = max(0, at - WINDOW // 2)
    hi = min(len(text), at + WINDOW)
    return ("…" if lo else "") + text[lo:hi] + ("…" if hi < len(text) else "")


def escape(text: str) -> str:
    """Whitespace and control characters made visible (``\\n``, ``\\t``, ``\\x00``), the rest as is."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[ch])
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def merge_serving(result: AuditResult, audit: ServingAudit) -> AuditResult:
    """``result`` with the serving check's findings, CheckRun and summary (counts updated)."""
    summary = dict(result.summary)
    counts = {k: dict(v) for k, v in summary.get("counts", {}).items()}
    severity = dict(summary.get("severity", {"error": 0, "warning": 0, "info": 0}))
    for f in audit.findings:
        counts.setdefault(f.check, {"error": 0, "warning": 0, "info": 0})[f.severity] += 1
        severity[f.severity] = severity.get(f.severity, 0) + 1
    summary.update({"counts": counts, "severity": severity, CHECK: audit.summary,
                    "checks_run": [*summary.get("checks_run", []), CHECK]})
    return result.model_copy(update={"findings": [*result.findings, *audit.findings],
                                     "checks": [*result.checks, audit.check], "summary": summary})


def check_serving(result: AuditResult, tokenizer: Any, records: Sequence[Record],
                  serving: ServingTemplate) -> AuditResult:
    """Run the serving check on ``records`` and merge it into ``result``."""
    return merge_serving(result, serving_template_audit(tokenizer, records, serving))


__all__ = ["CHECK", "Outcome", "ServingAudit", "check_serving", "compare_units", "merge_serving",
           "serving_template_audit", "units_of"]
