"""What used to surface as `internal error: ...` is one line naming what and where; a run with nothing to
check says so in its verdict."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.cli import _print_gates, main
from harness.results import GateResult, RunResults, write_json

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "fixtures" / "tiny"


def test_a_file_name_that_is_not_utf8_is_audited_and_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = os.fsencode(tmp_path) + b"/caf\xe9-\xff.jsonl"
    with open(raw, "wb") as fh:
        fh.write((TINY / "train.jsonl").read_bytes())
    name = os.fsdecode(raw)  # how the CLI gets it from argv: undecodable bytes as surrogates
    code = main(["audit", name, "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code in (0, 1) and "internal error" not in err, err
    html = (tmp_path / "out" / "audit.html").read_text(encoding="utf-8")
    assert "caf\\xe9-\\xff.jsonl" in html  # the undecodable bytes shown as escapes


@pytest.mark.parametrize("where", ["a file", "read-only", "a read-only file system"])
def test_an_output_folder_that_cannot_be_written_is_one_line(
    tmp_path: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if where == "a file":
        (tmp_path / "file").write_text("x")
        out = tmp_path / "file" / "out"
    elif where == "a read-only file system":
        if not Path("/sys/kernel").is_dir():
            pytest.skip("no sysfs here")
        out = Path("/sys/kernel/harness-test-out")  # sysfs: not even root can make a folder there
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        out = tmp_path / "ro"
        out.mkdir()
        out.chmod(0o555)
    code = main(["audit", str(TINY / "train.jsonl"), "--out", str(out), "--quiet"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert "internal error" not in lines[0] and "cannot write to the output folder" in lines[0]
    assert str(out.parent if where == "a file" else out) in lines[0]
    assert not out.exists()


def test_a_run_with_no_gates_says_nothing_was_checked(capsys: pytest.CaptureFixture[str]) -> None:
    _print_gates(RunResults(suite="s", candidate="a"))
    err = capsys.readouterr().err
    assert "PASSED (no gates: nothing was checked)" in err
    assert "warning: the suite defines no gates" in err


def test_a_run_with_gates_says_how_many_passed(capsys: pytest.CaptureFixture[str]) -> None:
    gate = GateResult(name="exact_match", expression="exact_match >= 0", passed=True, message="passed")
    _print_gates(RunResults(suite="s", candidate="a", gates=[gate]))
    err = capsys.readouterr().err
    assert "gates: PASSED (candidate: a)" in err and "no gates" not in err


def test_harness_report_of_a_run_with_no_gates_says_so(tmp_path: Path) -> None:
    write_json(RunResults(suite="s"), tmp_path / "results.json")
    assert main(["report", str(tmp_path)]) == 0
    assert "NO GATES" in (tmp_path / "index.html").read_text()
