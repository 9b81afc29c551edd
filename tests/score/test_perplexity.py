"""Perplexity parity: our batched, padded, masked NLL equals Hugging Face's own loss within 1e-4."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from score_support import ADAPTERS, FIX, MODEL

from harness.data import load_records
from harness.data.labels import IGNORE, label_record
from harness.models import attach_adapters, load_base
from harness.score.perplexity import corpus_perplexity, record_nll

pytestmark = pytest.mark.slow


def hf_loss(model: Any, ids: list[int], labels: list[int]) -> float:
    with torch.inference_mode():
        out = model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels]))
    return float(out.loss)


def check_parity(model: Any, tokenizer: Any) -> None:
    records = load_records(FIX / "eval.jsonl", limit=6) + load_records(FIX / "general.jsonl", limit=4)
    # batch_size 4: batches mix chat and text records of different lengths, so padding is exercised
    ours, skipped = record_nll(model, tokenizer, records, max_len=128, batch_size=4)
    assert not skipped and len(ours) == len(records)
    total_nll = total_tokens = 0.0
    for pos, rec in enumerate(records):
        lab = label_record(tokenizer, rec, 128)
        ref = hf_loss(model, lab.input_ids, lab.labels)
        n = sum(1 for x in lab.labels[1:] if x != IGNORE)
        assert ours[pos].tokens == n
        assert abs(ours[pos].nll / n - ref) < 1e-4, (pos, ours[pos].nll / n, ref)
        assert ours[pos].perplexity == pytest.approx(math.exp(ref), rel=1e-4)
        total_nll += ref * n
        total_tokens += n
    corpus = math.exp(total_nll / total_tokens)
    assert corpus_perplexity(list(ours.values())) == pytest.approx(corpus, rel=1e-4)


def test_perplexity_matches_hf_loss_on_the_4bit_base(loaded4: Any) -> None:
    check_parity(loaded4.model, loaded4.tokenizer)


def test_perplexity_matches_hf_loss_with_an_adapter() -> None:
    loaded = load_base(MODEL, load_in_4bit=True, stop_token_ids=[1, 2])
    attach_adapters(loaded, {"good": ADAPTERS["good"]})
    check_parity(loaded.model, loaded.tokenizer)


def test_chat_records_are_scored_on_the_response_only(loaded4: Any) -> None:
    chat = load_records(FIX / "eval.jsonl")[0]
    text = load_records(FIX / "general.jsonl")[0]
    ours, _ = record_nll(loaded4.model, loaded4.tokenizer, [chat, text], max_len=128)
    chat_ids = label_record(loaded4.tokenizer, chat, 128).input_ids
    response_ids = loaded4.tokenizer(chat.response, add_special_tokens=False)["input_ids"]
    # the response (its leading "▁" is the template's separator space, the answer's own), EOS and the
    # turn's closing newline ("▁" "<0x0A>" after a special token); never the prompt
    assert ours[0].tokens <= len(response_ids) + 3 < len(chat_ids)
    assert ours[1].tokens == len(label_record(loaded4.tokenizer, text, 128).input_ids) - 1


def test_records_without_scored_tokens_are_skipped_with_a_reason(loaded4: Any) -> None:
    chat = load_records(FIX / "eval.jsonl")[0]
    ours, skipped = record_nll(loaded4.model, loaded4.tokenizer, [chat], max_len=8)  # cut before the answer
    assert ours == {} and "no scored tokens" in skipped[0]
