"""The cleaned copy: every format and layout, kept rows byte for byte, removed.jsonl, clean.json, policies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.audit import AuditParams, CleanPolicy, clean_dataset, run_audit
from harness.data import load_records
from harness.data.spans import row_spans
from harness.errors import ConfigError
from tests.audit.clean_support import PLANTED, planted_sets, write

PARAMS = AuditParams(workers=1)


def row_bytes(path: Path, n: int) -> list[bytes]:
    spans = row_spans(path, n)
    return [bytes(spans.data[a:b]) for a, b in zip(spans.starts.tolist(), spans.ends.tolist(), strict=True)]


def removed(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "removed.jsonl").read_text().splitlines()]


@pytest.mark.parametrize(("suffix", "kind"), [(".jsonl", "alpaca"), (".json", "alpaca"),
                                              (".csv", "alpaca"), (".jsonl", "messages"),
                                              (".json", "conversations")])
def test_clean_keeps_the_format_and_every_kept_rows_bytes(tmp_path: Path, suffix: str, kind: str) -> None:
    train_rows, eval_rows = planted_sets()
    train = write(train_rows, tmp_path / f"train{suffix}", kind)
    evals = write(eval_rows, tmp_path / f"eval{suffix}", kind)
    report = clean_dataset(train, evals, out=tmp_path / "clean", params=PARAMS)
    out = tmp_path / "clean" / f"train{suffix}"
    kept = [i for i in range(len(train_rows)) if i not in PLANTED]
    original = row_bytes(train, len(train_rows))
    assert row_bytes(out, len(kept)) == [original[i] for i in kept]
    expected = [r.text for i, r in enumerate(load_records(train)) if i in kept]
    assert [r.text for r in load_records(out)] == expected
    assert not (tmp_path / "clean" / f"eval{suffix}").exists()  # eval never changes unless asked
    gone = {r["index"]: r for r in removed(tmp_path / "clean")}
    assert {i: r["checks"] for i, r in gone.items()} == {i: [c] for i, (c, _) in PLANTED.items()}
    for i, (_check, partner) in PLANTED.items():
        got = gone[i]["partner"]
        assert (got or {}).get("index") == partner
        if partner is not None:
            assert got["split"] == ("eval" if i == 84 else "train") and 0 < got["similarity"] <= 1
    assert report.verified and report.splits["train"].rows_out == len(kept) and report.version == 1
    manifest = json.loads((tmp_path / "clean" / "clean.json").read_text())
    assert manifest["version"] == 1 and manifest["counts"]["exact_duplicates"] == 1
    assert manifest["splits"]["train"]["sha256_out"] == report.splits["train"].sha256_out


def test_json_array_layout_is_kept(tmp_path: Path) -> None:
    train_rows, _ = planted_sets()
    train = write(train_rows, tmp_path / "train.json")
    clean_dataset(train, out=tmp_path / "clean", params=PARAMS, policy=CleanPolicy(drop=("empty_target",)))
    text = (tmp_path / "clean" / "train.json").read_text()
    assert text.startswith("[\n    {\n        \"instruction\"") and text.endswith("}\n]\n")
    assert json.loads(text) == [r for i, r in enumerate(train_rows) if i != 82]


def test_parquet_keeps_the_schema_and_rows(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    train_rows, eval_rows = planted_sets()
    train = write(train_rows, tmp_path / "train.parquet")
    clean_dataset(train, write(eval_rows, tmp_path / "eval.parquet"), out=tmp_path / "clean", params=PARAMS)
    before, after = pq.read_table(train), pq.read_table(tmp_path / "clean" / "train.parquet")
    assert after.schema == before.schema
    assert after.to_pylist() == [r for i, r in enumerate(before.to_pylist()) if i not in PLANTED]


def test_the_round_trip_finds_nothing_and_a_second_clean_writes_the_same_bytes(tmp_path: Path) -> None:
    train_rows, eval_rows = planted_sets()
    train, evals = write(train_rows, tmp_path / "train.jsonl"), write(eval_rows, tmp_path / "eval.jsonl")
    report = clean_dataset(train, evals, out=tmp_path / "c1", params=PARAMS)
    again = run_audit(load_records(tmp_path / "c1" / "train.jsonl"), load_records(evals), params=PARAMS,
                      progress=False)
    assert {c: again.count(check=c) for c in report.dropped_checks} == dict.fromkeys(report.dropped_checks, 0)
    second = clean_dataset(tmp_path / "c1" / "train.jsonl", evals, out=tmp_path / "c2", params=PARAMS)
    assert second.splits["train"].removed == 0
    assert (tmp_path / "c2" / "train.jsonl").read_bytes() == (tmp_path / "c1" / "train.jsonl").read_bytes()
    third = clean_dataset(train, evals, out=tmp_path / "c3", params=PARAMS)
    first_removed = (tmp_path / "c1" / "removed.jsonl").read_bytes()
    assert (tmp_path / "c3" / "removed.jsonl").read_bytes() == first_removed
    assert third.splits == report.splits


@pytest.mark.parametrize(("keep", "kept"), [("first", 7), ("longest", 81), ("shortest", 7)])
def test_which_duplicate_stays(tmp_path: Path, keep: str, kept: int) -> None:
    train_rows, _ = planted_sets()
    train_rows[81]["output"] += " " + " ".join(["and so on"] * 3)  # the near copy is the longer one
    train = write(train_rows, tmp_path / "train.jsonl")
    policy = CleanPolicy(keep=keep)  # type: ignore[arg-type]
    clean_dataset(train, out=tmp_path / "c", params=PARAMS, policy=policy)
    gone = {r["index"]: r for r in removed(tmp_path / "c") if "near_duplicates" in r["checks"]}
    (lost,) = gone
    assert lost == ({7, 81} - {kept}).pop() and gone[lost]["partner"]["index"] == kept


def test_the_eval_side_loses_a_leak_only_when_asked(tmp_path: Path) -> None:
    train_rows, eval_rows = planted_sets()
    train, evals = write(train_rows, tmp_path / "train.jsonl"), write(eval_rows, tmp_path / "eval.jsonl")
    report = clean_dataset(train, evals, out=tmp_path / "c", params=PARAMS,
                           policy=CleanPolicy(leak_side="eval"))
    assert report.splits["eval"].removed == 1 and report.splits["train"].removed == 4
    leak = next(r for r in removed(tmp_path / "c") if r["split"] == "eval")
    assert leak["index"] == 2 and leak["partner"]["split"] == "train" and leak["partner"]["index"] == 84
    assert len(load_records(tmp_path / "c" / "eval.jsonl")) == len(eval_rows) - 1


def test_which_checks_drop(tmp_path: Path) -> None:
    train_rows, _ = planted_sets()
    train = write(train_rows, tmp_path / "train.jsonl")
    only = clean_dataset(train, out=tmp_path / "a", params=PARAMS, policy=CleanPolicy(drop=("empty_target",)))
    assert only.counts == {"empty_target": 1}
    more = clean_dataset(train, out=tmp_path / "b", params=PARAMS, policy=CleanPolicy(also_drop=("refusal",)))
    assert "refusal" in more.dropped_checks
    unverified = clean_dataset(train, out=tmp_path / "c", params=PARAMS, policy=CleanPolicy(verify=False))
    assert unverified.verified is None and unverified.audits == 1
    with pytest.raises(ValueError, match="did you mean 'exact_duplicates'"):
        CleanPolicy(drop=("exact_duplicate",))


def test_a_folder_that_holds_files_is_refused_unless_forced(tmp_path: Path) -> None:
    train_rows, _ = planted_sets()
    train = write(train_rows, tmp_path / "train.jsonl")
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="holds 1 file"):
        clean_dataset(train, out=folder, params=PARAMS)
    clean_dataset(train, out=folder, params=PARAMS, force=True)
    assert (folder / "notes.txt").read_text() == "mine"  # force replaces the clean's own files only
    (folder / "notes.txt").unlink()
    clean_dataset(train, out=folder, params=PARAMS)  # a finished clean's own files: a rerun replaces them
    with pytest.raises(ConfigError, match="overwrite its input"):
        clean_dataset(tmp_path / "c" / "train.jsonl", out=folder, params=PARAMS, force=True)


def test_a_suite_writes_its_clean_copy(tmp_path: Path) -> None:
    import yaml

    from harness.pipeline import audit_suite
    from harness.suite import load_suite

    root = Path(__file__).resolve().parents[2]
    train_rows, eval_rows = planted_sets()
    write(train_rows, tmp_path / "train.jsonl")
    write(eval_rows, tmp_path / "eval.jsonl")
    suite_file = tmp_path / "suite.yaml"
    suite_file.write_text(yaml.safe_dump({
        "name": "clean", "base": {"path": str(root / "suites" / "demo" / "model")},
        "data": {"train": "train.jsonl", "eval": "eval.jsonl"},
        "audit": {"templates": False, "clean": {"dir": "cleaned", "also_drop": ["refusal"]}}}))
    suite = load_suite(suite_file)
    audit_suite(suite, tmp_path / "report", progress=False)
    manifest = json.loads((tmp_path / "cleaned" / "clean.json").read_text())
    # The five planted rows, and the two real rows of the demo data that say "As an AI ...".
    assert manifest["counts"]["refusal"] == 2 and manifest["splits"]["train"]["rows_out"] == 78
    audit_suite(suite, tmp_path / "report", progress=False)  # a rerun replaces its own earlier clean
    assert json.loads((tmp_path / "cleaned" / "clean.json").read_text())["splits"] == manifest["splits"]
