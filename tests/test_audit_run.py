"""audit_files / write_audit: the one way an audit of files is run and written (audit.json + audit.html)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import harness.judge
from harness.audit import AuditParams
from harness.audit_run import Review, audit_files
from harness.cli import main
from harness.config import ReviewConfig
from harness.judge.config import JudgeConfig
from harness.results import CheckRun, Finding, Ref, load_audit

TINY = Path(__file__).resolve().parent / "fixtures" / "tiny"


def test_audit_json_round_trips_with_its_contract_keys(tmp_path: Path) -> None:
    # The eval set audited against itself: every eval row leaks.
    result = audit_files(tmp_path / "out", TINY / "eval.jsonl", TINY / "eval.jsonl",
                         params=AuditParams(workers=1), title="t", progress=False)
    assert result.count("error", "leakage") == 16
    assert load_audit(tmp_path / "out" / "audit.json") == result
    data = json.loads((tmp_path / "out" / "audit.json").read_text(encoding="utf-8"))
    assert data["version"] == 2 and {"findings", "checks", "summary"} <= set(data)
    assert set(data["findings"][0]) >= {"check", "severity", "message", "refs"}
    assert set(data["findings"][0]["refs"][0]) >= {"split", "index"}
    assert all(set(c) >= {"check", "params", "findings", "seconds"} for c in data["checks"])
    assert (tmp_path / "out" / "audit.html").is_file()


def test_a_review_adds_its_findings_and_its_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    note = Finding(check="judge_review", severity="info", message="reviewed 1 of 96",
                   refs=[Ref(split="train", index=0)])

    def review_dataset(records: Any, config: JudgeConfig, **kwargs: Any) -> list[Finding]:
        seen.update(kwargs, rows=len(records), judge=config.name)
        return [note]

    monkeypatch.setattr(harness.judge, "review_dataset", review_dataset)
    judge = JudgeConfig(name="critic", backend="openai", model="m", rubric="review")
    review = Review(judge, ReviewConfig(judge="critic", fraction=0.5, seed=3), rubric_dirs=(tmp_path,))
    out = tmp_path / "out"
    result = audit_files(out, TINY / "train.jsonl", params=AuditParams(workers=1), review=review, title="t",
                         progress=False)
    assert seen == {"fraction": 0.5, "seed": 3, "cache_path": out / "cache" / "judge.sqlite",
                    "rubric_dirs": [tmp_path], "rows": 96, "judge": "critic"}
    assert result.findings[-1] == note
    assert result.checks[-1] == CheckRun(
        check="judge_review", findings=1,
        params={"judge": "critic", "rubric": "review", "fraction": 0.5, "seed": 3})
    assert load_audit(out / "audit.json") == result


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--threshold", "1.5"], "--threshold 1.5: Input should be less than or equal to 1"),
        (["--max-seq-len", "4"], "--max-seq-len 4: Input should be greater than 8"),
        (["--review-judge", "JUDGE", "--review-fraction", "0"], "--review-fraction 0.0: Input should be"),
    ],
)
def test_bad_flags_fail_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str],
                                        expected: str) -> None:
    judge = tmp_path / "judge.yaml"
    judge.write_text("name: critic\nbackend: openai\nmodel: m\nrubric: review\n")
    flags = [str(judge) if f == "JUDGE" else f for f in flags]
    out = tmp_path / "out"
    assert main(["audit", str(TINY / "train.jsonl"), "--out", str(out), "--quiet", *flags]) == 2
    assert expected in capsys.readouterr().err
    assert not out.exists()
