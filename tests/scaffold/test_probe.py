"""Probing the base: untrained tokens, attention modules, lengths, sweep sizing."""

from __future__ import annotations

from pathlib import Path

from harness.data import load_records
from harness.models.loading import load_base
from harness.scaffold import plan_sweep, probe

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_base_never_learned_the_braces_or_eos(demo_model_path: Path) -> None:
    loaded = load_base(demo_model_path, load_in_4bit=True)
    records = load_records(ROOT / "suites" / "demo" / "train.jsonl")
    ids = probe.loss_token_ids(loaded.tokenizer, records)
    # the same three tokens the hand-written demo suite lists as trainable_tokens
    found = probe.untrained_tokens(loaded.model, loaded.tokenizer, ids) or []
    assert sorted(found) == ["</s>", "<0x7B>", "<0x7D>"]
    assert probe.attention_modules(loaded.model) == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert probe.parameter_count(loaded.model) == 260_032  # 4-bit packing not counted twice
    lengths = probe.lengths(loaded.tokenizer, records, probe.context_length(loaded.model))
    assert lengths.max_seq_len % 32 == 0 and lengths.max_seq_len <= 512 and lengths.truncated_share < 0.02
    texts = probe.sample_general(loaded, 8, seed=1)
    assert texts == probe.sample_general(loaded, 8, seed=1) and all(len(t.split()) >= 5 for t in texts)


def test_sweep_size_follows_the_machine() -> None:
    cpu = plan_sweep(260_032, gpu=False, rows=600, modules=["q_proj", "v_proj"])
    assert len(cpu.trials) == 1 and cpu.defaults["max_steps"] == 120 and cpu.defaults["learning_rate"] == 1e-2
    gpu = plan_sweep(7_000_000_000, gpu=True, rows=10_000, modules="all-linear")
    assert [t["r"] for t in gpu.trials] == [8, 16] and gpu.defaults["max_steps"] == 400
    assert gpu.defaults["learning_rate"] == 2e-4 and "a GPU" in gpu.note
    big_cpu = plan_sweep(1_000_000_000, gpu=False, rows=50, modules="all-linear")
    assert big_cpu.defaults["batch_size"] == 2 and big_cpu.defaults["max_steps"] == 20
    long = plan_sweep(260_032, gpu=False, rows=600, modules="all-linear", seq_len=512)
    assert long.defaults["max_steps"] == 30  # the CPU token budget: 120 steps x 8 x 128 tokens
