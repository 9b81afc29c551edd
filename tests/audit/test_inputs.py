from __future__ import annotations

from harness.audit import run_audit
from harness.data.record import Record, Turn


def rec(i: int, split: str) -> Record:
    return Record(
        turns=(Turn("user", f"question {split} {i} about something"), Turn("assistant", f"answer {i}")),
        index=i,
        source=f"{split}.jsonl",
        format="messages",
    )


def test_tiny_and_swapped_sets_warn_but_do_not_fail() -> None:
    result = run_audit(
        [rec(i, "train") for i in range(3)], [rec(i, "eval") for i in range(12)], progress=False
    )
    warnings = [f for f in result.findings if f.check == "input_size"]
    assert {f.severity for f in warnings} == {"warning"}
    messages = " ".join(f.message for f in warnings)
    assert "train set has only 3 rows" in messages and "larger than the train set" in messages
    assert not any(f.severity == "error" for f in result.findings if f.check == "input_size")


def test_normal_sizes_give_no_input_warning() -> None:
    result = run_audit(
        [rec(i, "train") for i in range(40)], [rec(i, "eval") for i in range(10)], progress=False
    )
    assert any(c.check == "input_size" for c in result.checks)
    assert not [f for f in result.findings if f.check == "input_size"]
