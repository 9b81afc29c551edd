"""The loss-mask check: it must catch labels that train on the prompt, skip the answer or lose the EOS.

The labels under test are deliberately broken versions of what training builds;
the check never looks at how labels were made, only at where the turns are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from test_templates_support import MISTRAL, PHI3, SPACE_IN_PROMPT, chat, load, pairs, record

from harness.audit.masking import _extra_bos, mask_segments
from harness.audit.templates import audit_templates
from harness.data.labels import IGNORE, Labeled, RenderError, label_record, label_records
from harness.data.record import ASSISTANT, USER, Record


@pytest.fixture(scope="module")
def phi3() -> Any:
    return load(PHI3)


def broken(fn: Any) -> Any:
    """A labeler that builds the real labels, then breaks each with ``fn(labeled) -> labels``."""

    def labeler(tok: Any, records: Sequence[Record]) -> list[Labeled | RenderError]:
        out: list[Labeled | RenderError] = []
        for lab in label_records(tok, records):
            out.append(lab if isinstance(lab, RenderError) else replace(lab, labels=fn(lab)))
        return out

    return labeler


def mask_findings(tok: Any, records: list[Record], labeler: Any) -> dict[int, set[str]]:
    result = audit_templates(tok, records, split="train", max_seq_len=None, labeler=labeler)
    out: dict[int, set[str]] = {}
    for f in result.findings:
        if not f.refs:  # no_chat_template (the demo model), not about a record
            continue
        key = f.details.get("problem", f.check) if f.check == "loss_mask" else f.check
        out.setdefault(f.refs[0].index, set()).add(key)
    return out


def records(n: int = 8) -> list[Record]:
    rows = pairs()[:n]
    out = [chat(q, a, index=i) for i, (q, a) in enumerate(rows[: n // 2])]
    for i, ((q1, a1), (q2, a2)) in enumerate(zip(rows[n // 2 :: 2], rows[n // 2 + 1 :: 2], strict=False)):
        out.append(record((USER, q1), (ASSISTANT, a1), (USER, q2), (ASSISTANT, a2), index=n // 2 + i))
    return out


def test_real_labels_pass(phi3: Any) -> None:
    assert mask_findings(phi3, records(), label_records) == {}


def test_loss_on_every_token_is_a_prompt_leak(phi3: Any) -> None:
    found = mask_findings(phi3, records(), broken(lambda lab: list(lab.input_ids)))
    assert set(found) == set(range(6)) and all(v == {"prompt"} for v in found.values())


def test_answer_without_loss_is_unlearned_and_loses_eos(phi3: Any) -> None:
    def drop_last_two(lab: Labeled) -> list[int]:
        labels = list(lab.labels)
        keep = [k for k, x in enumerate(labels) if x != IGNORE]
        for k in keep[-2:]:  # the final answer's last content token and its <|end|> ... <|endoftext|>
            labels[k] = IGNORE
        return labels

    found = mask_findings(phi3, records(), broken(drop_last_two))
    assert all("missing_eos" in v for v in found.values())


def test_first_answer_token_without_loss_is_unlearned(phi3: Any) -> None:
    def drop_first(lab: Labeled) -> list[int]:
        labels = list(lab.labels)
        first = next(k for k, x in enumerate(labels) if x != IGNORE)
        labels[first] = IGNORE
        return labels

    found = mask_findings(phi3, records(), broken(drop_first))
    assert set(found) == set(range(6)) and all(v == {"unlearned"} for v in found.values())


def test_empty_mask(phi3: Any) -> None:
    found = mask_findings(phi3, records(), broken(lambda lab: [IGNORE] * len(lab.labels)))
    assert all({"empty", "unlearned", "missing_eos"} <= v for v in found.values())


def test_old_start_only_rule_misses_the_demo_first_word(demo_model_path: Any) -> None:
    """The rule labels.py used before: loss only on tokens that start inside the span. With the
    separator space outside the assistant span (the plain template as it once was), the demo's
    SentencePiece tokenizer glues it to the first word ("Assistant:" + "▁He")."""
    tok = load(demo_model_path)
    tok.chat_template = SPACE_IN_PROMPT

    def start_only(lab: Labeled) -> list[int]:
        return [i if any(a <= s < b for a, b in lab.spans) and e > s else IGNORE
                for i, (s, e) in zip(lab.input_ids, lab.offsets, strict=True)]

    recs = [chat("Who is Lily?", "Lily is a girl.", index=0), chat("Say hi.", "Hello there.", index=1)]
    assert mask_findings(tok, recs, label_records) == {}
    found = mask_findings(tok, recs, broken(start_only))
    assert found == {0: {"unlearned"}, 1: {"unlearned"}}


def test_mask_segments_round_trip_and_alternate(phi3: Any) -> None:
    lab = label_record(phi3, record((USER, "Q1"), (ASSISTANT, "A one."), (USER, "Q2"), (ASSISTANT, "A two.")))
    seg = mask_segments(lab)
    assert "".join(s["text"] for s in seg) == lab.text
    assert [s["loss"] for s in seg] == [False, True, False, True]
    assert seg[1]["text"] == "A one.<|end|>\n" and seg[3]["text"] == "A two.<|end|>\n<|endoftext|>"
    cut = mask_segments(lab, cut_at=5)
    assert "".join(s["text"] for s in cut) == lab.text and cut[-1].get("cut") is True


@pytest.mark.parametrize(("ids", "bos", "eos", "extra"), [
    ([1, 5, 6], 1, 2, 0), ([1, 1, 5], 1, 2, 1), ([5, 1, 6], 1, 2, 1), ([1, 5, 1, 1], 1, 2, 2),
    ([7, 5, 7], 7, 7, 0), ([7, 7, 5, 7], 7, 7, 1), ([5, 6], None, 2, 0),
])
def test_extra_bos(ids: list[int], bos: int | None, eos: int, extra: int) -> None:
    assert _extra_bos(np.asarray(ids), bos, eos) == extra


def test_mistral_mask_is_exactly_answer_and_eos() -> None:
    tok = load(MISTRAL)
    lab = label_record(tok, chat("What is 2+2?", "4."))
    trained = "".join(s["text"] for s in mask_segments(lab) if s["loss"])
    assert trained == "4.</s>"
