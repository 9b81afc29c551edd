"""Planted serving-template mismatches: recall per class and false alarms of the serving check.

Six template families, each a real chat template from ``realdata/chat_templates``
on a real tokenizer from ``realdata/tokenizers``: Qwen2.5 ChatML (with its default
system prompt) and plain ChatML (Ollama index entry 6), Llama 3 8B Instruct and
Gemma 2 on GPT-2 with the template's control tokens added (as trl's
``clone_chat_template`` does), Mistral 7B Instruct v0.2 and Phi-3 mini on their own
tokenizers. Per family, ``harness.testing.serving_planted`` plants serving templates with
one mismatch each (wrong family, missing generation prompt, dropped system prompt,
double BOS, turns or stops that end differently, whitespace), as Ollama Modelfiles and
as Jinja files, and checks the matching ones (the hand-written Modelfiles in
``tests/fixtures/serving``, the assembled one, the training template itself), on
``--conversations`` real conversations from ``realdata/instruct`` (single turns, two
exchanges, system turns where the template has them) plus the check's probes.

Recall is counted per planted template (the class is reported) and per conversation
(of the conversations whose ids differ, the share the class is reported for). Planted
templates that change no token (the Phi-3 tokenizer strips whitespace after its
special tokens) or cannot render at all on the tokenizer are listed, not counted.

Anchor: the naive check, one string compare per conversation (training render against
serving render, with the BOS the runtime adds written out), on the same cases; it says
whether a conversation differs, not why. ``anchor_agreement`` is the share of
conversations where its differ/same verdict equals ours (they part where a tokenizer
makes a text difference invisible). ``identical`` is the acceptance verdict
(``identical_means``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

from bench._planted_data import ROOT, real_pool, realdata_dir

SERVING_FIXTURES = ROOT / "tests" / "fixtures" / "serving"


def _gpt2() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    folder = realdata_dir() / "tokenizers" / "gpt2"
    tok = Tokenizer(models.BPE.from_file(str(folder / "vocab.json"), str(folder / "merges.txt")))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>")


def _own(folder: str) -> Any:
    from harness.models.loading import load_tokenizer

    return load_tokenizer(realdata_dir() / "tokenizers" / folder)[0]


def _anchor(tokenizer: Any, records: Sequence[Any], cases: Sequence[Any], limit: int
            ) -> tuple[float, list[bool]]:
    """The naive per-conversation string compare; returns (seconds, differs per conversation)."""
    from harness.audit.serving_template import units_of
    from harness.data.labels import RenderError, render
    from harness.templates.serving import ServingRenderError

    start = time.perf_counter()
    verdicts: list[bool] = []
    for case in cases:
        bos = tokenizer.bos_token if case.serving.adds_special(tokenizer) else ""
        for unit in units_of(records, limit):
            turns = list(zip(unit.roles, unit.contents, strict=True))
            try:
                messages = [{"role": r, "content": c} for r, c in turns]
                train = render(tokenizer, messages, add_generation_prompt=True)
            except RenderError:
                continue
            try:
                served = bos + case.serving.render(tokenizer, turns)
            except ServingRenderError:
                served = None
            verdicts.append(served != train)
    return time.perf_counter() - start, verdicts


def _ours_verdicts(tokenizer: Any, records: Sequence[Any], cases: Sequence[Any], limit: int) -> list[bool]:
    from harness.audit.serving_template import compare_units

    out: list[bool] = []
    for case in cases:
        outcomes, _, _ = compare_units(tokenizer, records, case.serving, limit=limit)
        out += [o.differs for o in outcomes if o.differences is not None]
    return out


def run(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="planted_serving")
    parser.add_argument("--conversations", type=int, default=120, help="real conversations per family")
    parser.add_argument("--families", nargs="*", default=None)
    args = parser.parse_args(argv)

    from harness.testing.serving_families import FAMILIES, family_tokenizer
    from harness.testing.serving_planted import matching_cases, measure, planted_cases
    from harness.testing.template_planted import clean_records, load_templates

    templates = load_templates(realdata_dir() / "chat_templates")
    pairs = [(p.strip(), r.strip()) for p, r in real_pool() if len(p) + len(r) < 1500]
    names = args.families or list(FAMILIES)
    per_family: dict[str, Any] = {}
    totals: dict[str, dict[str, int]] = {k: {} for k in ("cases", "detected", "conversations", "flagged")}
    false_alarms = matching = 0
    ours = anchor = 0.0
    agree = total = 0
    for name in names:
        family = FAMILIES[name]
        tok = family_tokenizer(family, templates, _own, _gpt2)
        records = clean_records(pairs, args.conversations, system_ok=family.pieces.system, seed=7)
        cases = (matching_cases(family, templates, SERVING_FIXTURES)
                 + planted_cases(family, templates, tok.bos_token or None))
        start = time.perf_counter()
        m = measure(tok, records, cases, limit=args.conversations)
        ours += time.perf_counter() - start
        seconds, naive = _anchor(tok, records, cases, args.conversations)
        anchor += seconds
        mine = _ours_verdicts(tok, records, cases, args.conversations)
        agree += sum(a == b for a, b in zip(naive, mine, strict=True))
        total += len(mine)
        for key, counts in (("cases", m.cases), ("detected", m.detected), ("conversations", m.conversations),
                            ("flagged", m.flagged)):
            for cls, n in counts.items():
                totals[key][cls] = totals[key].get(cls, 0) + n
        false_alarms += m.false_alarms
        matching += m.matching
        per_family[name] = {"training_template": family.template, "tokenizer": family.tokenizer,
                            "recall": m.recall(), "conversation_recall": m.conversation_recall(),
                            "planted": m.cases, "missed": m.missed, "no_effect": m.no_effect,
                            "unrenderable": m.unrenderable, "confusion": m.confusion,
                            "matching_templates": m.matching, "false_alarms": m.false_alarms,
                            "false_alarm_templates": m.false_alarm_labels}
    recall = {c: round(totals["detected"].get(c, 0) / n, 4) for c, n in sorted(totals["cases"].items())}
    conv = {c: round(totals["flagged"].get(c, 0) / n, 4) for c, n in sorted(totals["conversations"].items())}
    families_with_all = sum(1 for f in per_family.values()
                            if f["recall"] and min(f["recall"].values()) >= 0.95)
    ok = (min(recall.values()) >= 0.95 and min(conv.values()) >= 0.95 and false_alarms == 0
          and families_with_all >= 4)
    return {
        "ours_s": round(ours, 3), "anchor_s": round(anchor, 3),
        "ratio": round(anchor / ours, 4) if ours else 0.0,
        "anchor": "naive per-conversation string compare of the two renders (no tokens, no families)",
        "anchor_agreement": round(agree / total, 4) if total else None,
        "identical": ok,
        "identical_means": "recall >= 0.95 per class (per template and per conversation), 0 findings on "
                           "matching templates, >= 4 families with every class >= 0.95",
        "recall": recall, "conversation_recall": conv, "planted_templates": totals["cases"],
        "differing_conversations": totals["conversations"], "matching_templates": matching,
        "false_alarms": false_alarms, "families": len(per_family), "conversations_per_family":
        args.conversations, "per_family": per_family,
    }

