"""The audit pauses the cyclic collector and gives it back as it was, also when it fails."""

from __future__ import annotations

import gc

import pytest

from harness.audit import runner
from harness.audit.gc_pause import gc_paused
from harness.data.record import Record, Turn


def test_paused_inside_restored_after_and_nesting_keeps_it_paused() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner one found it off and leaves it off
    assert gc.isenabled()


def test_a_failure_inside_still_restores_it_and_a_caller_who_had_it_off_keeps_it_off() -> None:
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("audit failed")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_run_audit_runs_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(runner, "check_inputs", lambda *a, **k: seen.append(gc.isenabled()))
    rows = [Record(turns=(Turn("user", f"q {i}"), Turn("assistant", f"a {i}")), index=i, source="x",
                   format="alpaca") for i in range(3)]
    runner.run_audit(rows, progress=False)
    assert seen == [False] and gc.isenabled()
