"""Every user path is checked as a regular file (or the folder expected) of bounded size before it is
read: /dev/zero, FIFOs, directories, sparse giants and non-UTF-8 files are one-line errors, never a hang
or an OOM."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import ConfigError, DataError
from harness.suite import load_suite
from harness.testing.capped import GiB, harness_command, run_capped
from harness.userfiles import LIMITS, check_dir, check_file, read_text

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "suites" / "demo" / "model"
TINY = ROOT / "tests" / "fixtures" / "tiny"


def fifo(tmp: Path) -> Path:
    path = tmp / "pipe.jinja"
    os.mkfifo(path)
    return path


def folder(tmp: Path) -> Path:
    path = tmp / "dir.jinja"
    path.mkdir()
    return path


def latin1(tmp: Path) -> Path:
    path = tmp / "latin1.jinja"
    path.write_bytes("{{ 'caf\xe9' }}".encode("latin-1"))
    return path


def sparse(tmp: Path, size: int = 64 * GiB) -> Path:
    path = tmp / "huge.jinja"
    with open(path, "wb") as fh:
        fh.truncate(size)  # a sparse file: no disk used, `size` bytes to a reader
    return path


def dev_zero(_: Path) -> Path:
    return Path("/dev/zero")


HOSTILE: dict[str, tuple[Callable[[Path], Path], str]] = {
    "/dev/zero": (dev_zero, "is a character device, not a regular file"),
    "a FIFO": (fifo, "is a FIFO, not a regular file"),
    "a directory": (folder, "is a directory, not a regular file"),
    "not UTF-8": (latin1, "is not UTF-8 text (byte 8)"),
    "a sparse 64 GiB file": (sparse, "is 64.0 GiB, more than the 4.0 MiB allowed"),
}


def suite_file(tmp: Path, **keys: str) -> Path:
    base = f"{{path: {MODEL}, chat_template: {keys.pop('chat_template', 'null')}}}"
    lines = [f"name: t\nbase: {base}\ndata: {{train: {TINY / 'train.jsonl'}, eval: {TINY / 'eval.jsonl'}}}"]
    lines += [f"{k}: {v}" for k, v in keys.items()]
    path = tmp / "suite.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_chat_template_stops_the_cli_in_one_line_within_the_caps(tmp_path: Path, case: str) -> None:
    make, says = HOSTILE[case]
    suite = suite_file(tmp_path, chat_template=str(make(tmp_path)))
    ran = run_capped(harness_command("sweep", suite, "--out", tmp_path / "out"), mem_bytes=3 * GiB,
                     timeout_s=60)
    assert not ran.timed_out and ran.returncode == 2, ran.stderr[-2000:]
    assert len(ran.lines) == 1 and "internal error" not in ran.stderr, ran.stderr[-2000:]
    assert f"base.chat_template: {make(tmp_path) if case == '/dev/zero' else ''}" in ran.lines[0]
    assert says in ran.lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", list(HOSTILE))
@pytest.mark.parametrize("key", [
    "audit: {serving_template: PATH}",
    "judges: [{name: j, backend: openai, model: m, rubric: helpfulness, base_url: 'http://127.0.0.1:9', "
    "anchors: PATH}]"])
def test_other_suite_files_are_checked_at_load(tmp_path: Path, case: str, key: str) -> None:
    make, says = HOSTILE[case]
    target = make(tmp_path)
    name, _, value = key.partition(": ")
    suite = suite_file(tmp_path, **{name: value.replace("PATH", str(target))})
    if "anchors" in key and case == "a sparse 64 GiB file":
        says = "more than the 256.0 MiB allowed"  # anchors may be larger than a template
    with pytest.raises(ConfigError) as err:
        load_suite(suite)
    where = "audit.serving_template" if "serving" in key else "judges[0].anchors"
    assert f"{where}: " in str(err.value) and says in str(err.value)


def test_a_hostile_suite_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for target, says in [(Path("/dev/zero"), "character device"), (fifo(tmp_path), "FIFO"),
                         (sparse(tmp_path), "more than the 4.0 MiB allowed")]:
        assert main(["sweep", str(target)]) == 2
        line = capsys.readouterr().err.strip()
        assert says in line and str(target) in line and "\n" not in line


def test_a_hostile_judge_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for target, says in [(Path("/dev/zero"), "character device"), (fifo(tmp_path), "FIFO"),
                         (folder(tmp_path), "directory"), (latin1(tmp_path), "not UTF-8")]:
        code = main(["audit", str(TINY / "train.jsonl"), "--review-judge", str(target),
                     "--out", str(tmp_path / "out")])
        line = capsys.readouterr().err.strip()
        assert code == 2 and says in line and "\n" not in line, line


def test_read_text(tmp_path: Path) -> None:
    ok = tmp_path / "ok.txt"
    ok.write_bytes("\ufeffhello\n".encode())
    assert read_text(ok, "x", kind="template") == "hello\n"
    for make, says in HOSTILE.values():
        with pytest.raises(DataError) as err:
            read_text(make(_fresh(tmp_path, make)), "x", kind="template")
        assert says in str(err.value)
    with pytest.raises(DataError, match="no such x"):
        read_text(tmp_path / "missing", "x", kind="template")


def _fresh(tmp_path: Path, make: Callable[[Path], Path]) -> Path:
    sub = tmp_path / make.__name__
    sub.mkdir(exist_ok=True)
    return sub


def test_checks_by_kind(tmp_path: Path) -> None:
    assert check_dir(tmp_path, "folder") == tmp_path
    with pytest.raises(DataError, match="is a file, not a folder"):
        check_dir(TINY / "train.jsonl", "base path")
    assert check_file(TINY / "train.jsonl", "data") == TINY / "train.jsonl"
    with pytest.raises(DataError, match=r"is 65\.0 GiB, more than the 64\.0 GiB allowed"):
        check_file(sparse(tmp_path, 65 * GiB), "data")
    assert LIMITS["suite"] < LIMITS["data"]


def test_results_files_are_read_bounded(tmp_path: Path) -> None:
    from harness.results import load_items, load_results

    big = sparse(tmp_path, 300 << 20)
    for load in (load_results, load_items):
        with pytest.raises(DataError, match=r"300\.0 MiB, more than the 256\.0 MiB allowed"):
            load(big)
