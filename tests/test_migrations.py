"""Readers of older files: results, audit and sweep files of version 1 (written before `version` existed,
by the harness at 398dbf2) and the lockfile embedding them read as the current schema."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.baseline import compare_to_baseline, read_lock
from harness.cli import main
from harness.errors import DataError
from harness.migrations import (
    AUDIT_VERSION,
    RESULTS_VERSION,
    SWEEP_VERSION,
    VersionError,
    migrate_lock,
    migrate_results,
)
from harness.results import ci_note, load_audit, load_results, load_sweep, write_json

V1 = Path(__file__).resolve().parent / "fixtures" / "results_v1"


def raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((V1 / name).read_text(encoding="utf-8"))
    return data


def test_the_fixtures_are_version_1() -> None:
    for name in ("results.json", "audit.json", "sweep.json"):
        assert "version" not in raw(name)
    assert raw("baseline.lock.json")["version"] == 2 and "version" not in raw("baseline.lock.json")["results"]


def current_sweep(old: dict[str, Any]) -> dict[str, Any]:
    """An old sweep as the current version: adapter paths relative to the run folder (the old files
    were written from the repository root with --out run: `run/trials/a/adapter`)."""
    trials = [{**t, "adapter_path": t["adapter_path"].removeprefix("run/")} for t in old["trials"]]
    return {**old, "trials": trials, "version": SWEEP_VERSION}


def test_version_1_files_read_unchanged_but_for_their_version(tmp_path: Path) -> None:
    audit, sweep, results = load_audit(V1 / "audit.json"), load_sweep(V1 / "sweep.json"), load_results(
        V1 / "results.json")
    assert (audit.version, sweep.version, results.version) == (AUDIT_VERSION, SWEEP_VERSION, RESULTS_VERSION)
    assert audit.model_dump(mode="json") == {**raw("audit.json"), "version": AUDIT_VERSION}
    assert sweep.model_dump(mode="json") == current_sweep(raw("sweep.json"))
    old = raw("results.json")
    # Comparisons over too few items for an interval carry a note saying so (from their n).
    notes = [{**c, "ci_note": ci_note(c["n"])} for c in old["comparisons"]]
    assert results.model_dump(mode="json") == {
        **old, "version": RESULTS_VERSION, "audit": {**old["audit"], "version": AUDIT_VERSION},
        "sweep": current_sweep(old["sweep"]), "comparisons": notes,
        "template": None}  # results 3: scored before the template section existed
    assert results.audit == audit  # the run's own audit.json, embedded
    assert results.sweep == sweep.model_copy(update={"base_loads": 1})  # the run loaded the base once
    # written again, it is a current file that reads back the same
    assert load_results(write_json(results, tmp_path / "results.json")) == results
    assert json.loads((tmp_path / "results.json").read_text())["version"] == RESULTS_VERSION


def test_results_from_before_the_primary_metric_was_recorded_get_the_default() -> None:
    old = raw("results.json")
    old["meta"] = {k: v for k, v in old["meta"].items() if k != "primary_metric"}
    assert migrate_results(old)["meta"] == {**old["meta"], "primary_metric": "exact_match"}
    kept = {**old, "meta": {**old["meta"], "primary_metric": "eval_perplexity"}}
    assert migrate_results(kept)["meta"]["primary_metric"] == "eval_perplexity"


@pytest.mark.parametrize(("version", "expected"), [
    (RESULTS_VERSION + 1, f"version {RESULTS_VERSION + 1} is newer than this harness reads"),
    ("2", "version '2' is not a positive integer"),
    (0, "version 0 is not a positive integer"),
])
def test_a_version_this_harness_cannot_read_is_refused(tmp_path: Path, version: Any, expected: str) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps({**raw("results.json"), "version": version}))
    with pytest.raises(DataError, match=expected) as err:
        load_results(path)
    assert str(err.value).startswith(f"{path}: field 'version': ")
    with pytest.raises(VersionError):
        migrate_results({"version": version})


def test_the_lockfile_migrates_its_embedded_results_and_compares(tmp_path: Path) -> None:
    baseline = read_lock(V1 / "baseline.lock.json")
    assert baseline.version == 2 and baseline.results == load_results(V1 / "results.json")
    assert baseline.items is not None and {i.model for i in baseline.items} == {"base", "b"}
    comp = compare_to_baseline(baseline, load_results(V1 / "results.json"), baseline.items, run_dir=tmp_path)
    assert comp.comparable and comp.paired and all(m.delta == 0 for m in comp.metrics)
    # a version 1 lockfile (results and hashes, no items) reads as a version 2 one without items
    v1 = {"version": 1, "results": raw("results.json"), "hashes": raw("results.json")["hashes"]}
    assert migrate_lock(v1)["items"] is None and migrate_lock(v1)["candidate"] == "b"
    (tmp_path / "v1.lock.json").write_text(json.dumps(v1))
    old = read_lock(tmp_path / "v1.lock.json")
    assert old.version == 1 and old.items is None and old.results == baseline.results


def test_the_cli_reads_a_version_1_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(V1 / "results.json", run / "results.json")
    shutil.copy(V1 / "baseline.lock.json", tmp_path / "baseline.lock.json")
    assert main(["report", str(run)]) == 0  # the v1 results' gates passed
    assert (run / "index.html").is_file() and (run / "sweep.html").is_file()
    capsys.readouterr()
    assert main(["baseline", "compare", str(run)]) == 0  # unpaired: the folder has no items.jsonl
    assert "exact_match" in capsys.readouterr().out


def test_old_adapter_paths_resolve_against_the_run_folder_wherever_it_is(tmp_path: Path) -> None:
    sweep = load_sweep(V1 / "sweep.json")  # written with `--out run` from the repository root
    assert sweep.adapters(tmp_path / "moved") == {"a": tmp_path / "moved" / "trials" / "a" / "adapter",
                                                  "b": tmp_path / "moved" / "trials" / "b" / "adapter"}
    old = {**raw("sweep.json"), "version": 2}
    old["trials"] = [{**old["trials"][0], "adapter_path": "/abs/run/trials/a/adapter"},
                     {**old["trials"][1], "adapter_path": "adapter-elsewhere"}]
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(old))
    assert load_sweep(path).adapters(tmp_path) == {"a": Path("/abs/run/trials/a/adapter"),
                                                   "b": tmp_path / "adapter-elsewhere"}
