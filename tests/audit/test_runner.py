"""run_audit as a whole: every check reports, clean data has no errors, refs use Record.index."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from harness.audit import AuditParams, BenchmarkDoc, run_audit
from harness.audit.template_parity import CHECKS as PARITY_CHECKS
from harness.data import load_records
from harness.results import AuditResult, CheckRun, Finding

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audit"

CHECKS = ["input_size", "exact_duplicates", "near_duplicates", "leakage", "contamination", "empty_target",
          "short_target", "length_outlier", "format_outlier", "placeholder_input", "placeholder_output",
          "inconsistent_markers", "non_text_task", "dangling_input", "repetition", "cut_off_response",
          "refusal", "control_characters", "literal_escapes", "mojibake"]


def test_every_check_reports_and_clean_real_data_has_no_errors(mmlu_docs: list[BenchmarkDoc],
                                                               params: AuditParams) -> None:
    records = load_records(FIXTURES / "alpaca_en_demo_200.json")
    result = run_audit(records[:150], records[150:], benchmarks={"mmlu": mmlu_docs}, params=params,
                       progress=False)
    assert [c.check for c in result.checks][: len(CHECKS)] == CHECKS
    tail = {c.check: c.params.get("skipped") for c in result.checks[-4:]}
    assert tail == dict.fromkeys([*PARITY_CHECKS, "templates"], "no tokenizer given")
    semantic = [c for c in result.checks if c.check.startswith("semantic_")]
    assert [c.check for c in semantic] == ["semantic_leakage", "semantic_duplicates"]
    assert all("not enabled" in c.params["skipped"] for c in semantic)
    assert not result.has_errors
    assert result.summary["rows"] == {"train": 150, "eval": 50}
    assert result.summary["benchmarks"] == {"mmlu": 379}
    assert result.summary["checks_run"][: len(CHECKS)] == CHECKS
    assert result.summary["params"]["near_duplicate_threshold"] == 0.8
    for run in result.checks:
        assert run.findings == sum(1 for f in result.findings if f.check == run.check)
    assert AuditResult.model_validate_json(result.model_dump_json()) == result


def test_refs_use_record_index_not_position(alpaca_pairs: list[tuple[str, str]], records_of: Callable,
                                            params: AuditParams) -> None:
    records = records_of(alpaca_pairs[:30])
    shifted = [replace(r, index=r.index + 1000) for r in records]
    shifted.append(replace(records[2], index=5000))
    result = run_audit(shifted, params=params, progress=False)
    dup = next(f for f in result.findings if f.check == "exact_duplicates")
    assert [r.index for r in dup.refs] == [1002, 5000]


def test_parameters_are_validated() -> None:
    with pytest.raises(ValueError):
        AuditParams(near_duplicate_threshold=1.5)
    with pytest.raises(ValueError):
        AuditParams(executor="spark")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        AuditParams(unknown=1)  # type: ignore[call-arg]


def test_template_audit_is_called_with_a_tokenizer(alpaca_pairs: list[tuple[str, str]], records_of: Callable,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}

    class Fake:
        def __init__(self) -> None:
            self.findings = [Finding(check="template_roles", severity="error", message="dropped a turn")]
            self.checks = [CheckRun(check="template_roles", findings=1)]
            self.summary: dict = {"examples": []}

    def fake(tokenizer: object, records: list, *, split: str, max_seq_len: int | None, show: int = 5) -> Fake:
        seen.update(tokenizer=tokenizer, rows=len(records), split=split, max_seq_len=max_seq_len, show=show)
        return Fake()

    module = types.ModuleType("harness.audit.templates")
    module.audit_templates = fake  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "harness.audit.templates", module)
    result = run_audit(records_of(alpaca_pairs[:10]), params=AuditParams(workers=1, max_seq_len=64),
                       tokenizer="TOK", progress=False)
    assert seen == {"tokenizer": "TOK", "rows": 10, "split": "train", "max_seq_len": 64, "show": 5}
    assert result.checks[-1].check == "template_roles" and result.has_errors
    assert result.summary["templates"]["train"]["examples"] == []


def test_template_audit_missing_is_reported(alpaca_pairs: list[tuple[str, str]], records_of: Callable,
                                            params: AuditParams, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "harness.audit.templates", None)  # import fails
    result = run_audit(records_of(alpaca_pairs[:10]), params=params, tokenizer="TOK", progress=False)
    run = result.checks[-1]
    assert run.check == "templates" and "not available" in run.params["skipped"]
    assert not result.has_errors


def test_progress_bars_do_not_break_the_run(alpaca_pairs: list[tuple[str, str]], records_of: Callable,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    result = run_audit(records_of(alpaca_pairs[:20]), params=AuditParams(workers=1), progress=True)
    # + two semantic checks (off), the parity checks (no tokenizer) and templates
    assert len(result.checks) == len(CHECKS) + 3 + len(PARITY_CHECKS)
    assert capsys.readouterr().err == ""  # progress is drawn on a terminal only: nothing left in a log
