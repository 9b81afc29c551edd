"""The audit on a local Ray cluster (2 worker processes) equals the local one: findings, cleaned bytes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.audit import AuditParams, CleanPolicy
from harness.audit.benchmarks import load_benchmark
from harness.audit_run import CleanRequest, audit_files
from harness.cli import main
from harness.data import RecordFile, load_records
from harness.errors import DataError, HarnessError
from tests.audit.clean_support import FIXTURES, planted_sets, real_rows, write

ray = pytest.importorskip("ray", reason="the ray extra is not installed: pip install 'finetune-harness[ray]'")
CLUSTER_SIZE = 64 + 6  # near copies of one row: one LSH bucket beyond BUCKET_CAP (the star-and-chain path)


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


def planted_rows() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The clean tests' planted set (real Alpaca rows), plus an MMLU question pasted into a prompt and
    a cluster of near copies big enough for the capped-bucket path."""
    train, evals = planted_sets()
    question = load_benchmark("mmlu", FIXTURES / "mmlu")[3]
    train.append({"instruction": "Answer this question.\n\n" + question.text, "input": "", "output": "B"})
    base = real_rows()[163]  # 301 words: every two near copies are at Jaccard ~0.93
    words = base["output"].split(" ")
    for k in range(CLUSTER_SIZE):
        copy = list(words)
        copy[k % len(copy)] = f"variant{k}"
        train.append({**base, "output": " ".join(copy)})
    train += real_rows()[170:200]
    return train, evals


def audit_into(folder: Path, train: Path, evals: Path, params: AuditParams) -> dict[str, Any]:
    clean = CleanRequest(folder / "clean", CleanPolicy())
    audit_files(folder, train, evals, params=params, benchmarks={"mmlu": FIXTURES / "mmlu"}, clean=clean,
                title="t", progress=False)
    return json.loads((folder / "audit.json").read_text(encoding="utf-8"))


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """Findings and checks, less what depends on the machine (timings, executor, workers)."""
    checks = [{k: v for k, v in c.items() if k != "seconds"} for c in report["checks"]]
    summary = {k: v for k, v in report["summary"].items() if k not in ("seconds", "stages", "executor",
                                                                       "workers", "params")}
    return {"findings": report["findings"], "checks": checks, "summary": summary}


def clean_files(folder: Path) -> dict[str, bytes]:
    out = {p.name: p.read_bytes() for p in sorted((folder / "clean").iterdir())}
    manifest = json.loads(out.pop("clean.json"))
    manifest.pop("seconds")
    out["clean.json"] = json.dumps(manifest, sort_keys=True).encode()
    return out


def spy_remote_searches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the near-duplicate searches that ran in the cluster (the train split's, on Ray)."""
    from harness.audit.ray_lsh import RemoteSplit

    calls: list[int] = []
    search = RemoteSplit.confirmed_pairs

    def counted(self: RemoteSplit, rows: Any, threshold: float, shingle: int) -> Any:
        calls.append(len(rows))
        return search(self, rows, threshold, shingle)

    monkeypatch.setattr(RemoteSplit, "confirmed_pairs", counted)
    return calls


def spy_ray_writes(monkeypatch: pytest.MonkeyPatch, part_bytes: int) -> list[int]:
    """Counts the parts of each cleaned file the cluster wrote; parts of ``part_bytes``."""
    import harness.audit.ray_clean as ray_clean

    monkeypatch.setattr(ray_clean, "PART_BYTES", part_bytes)
    parts: list[int] = []
    split = ray_clean.split_parts

    def counted(starts: Any, ends: Any, size: int) -> Any:
        out = split(starts, ends, size)
        parts.append(len(out))
        return out

    monkeypatch.setattr(ray_clean, "split_parts", counted)
    return parts


def test_ray_audit_and_clean_equal_the_local_executors(cluster: None, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.audit.scan as scan

    monkeypatch.setattr(scan, "CHUNK_ROWS", 16)  # many chunks: both actors scan some
    train_rows, eval_rows = planted_rows()
    train = write(train_rows, tmp_path / "train.jsonl")  # the actors read and parse the file themselves
    evals = write(eval_rows, tmp_path / "eval.jsonl")
    local = audit_into(tmp_path / "local", train, evals, AuditParams(workers=1))
    searches = spy_remote_searches(monkeypatch)
    parts = spy_ray_writes(monkeypatch, 4096)
    on_ray = audit_into(tmp_path / "ray", train, evals, AuditParams(executor="ray", workers=2))
    assert on_ray["summary"]["executor"] == "ray"
    assert len(parts) == 1 and parts[0] > 4  # the cleaned train file, written by the cluster in parts
    assert len(searches) == 2  # the audit's, and the clean's re-audit of the kept rows
    assert comparable(on_ray) == comparable(local)
    counts = local["summary"]["counts"]
    for check in ("exact_duplicates", "near_duplicates", "leakage", "contamination", "empty_target",
                  "placeholder_output"):
        assert counts.get(check), f"the planted set has no {check} finding: the comparison proves little"
    near = next(c for c in local["checks"] if c["check"] == "near_duplicates")["params"]
    assert near["train_stats"]["confirmed_pairs"] >= CLUSTER_SIZE
    assert clean_files(tmp_path / "ray") == clean_files(tmp_path / "local")
    assert len((tmp_path / "ray" / "clean" / "train.jsonl").read_bytes()) < len(train.read_bytes())


def test_records_loaded_whole_audit_the_same_on_ray(cluster: None, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A JSON array is loaded by the driver; the actors get its records once, through the object store
    (train only: the eval split's scan is the first test's)."""
    import harness.audit.scan as scan
    from harness.audit import run_audit

    monkeypatch.setattr(scan, "CHUNK_ROWS", 16)
    train = load_records(write(planted_rows()[0], tmp_path / "train.json"))
    local = run_audit(train, params=AuditParams(workers=1), progress=False)
    searches = spy_remote_searches(monkeypatch)
    on_ray = run_audit(train, params=AuditParams(executor="ray", workers=2), progress=False)
    assert searches and on_ray.findings == local.findings and local.count(check="near_duplicates")
    assert [c.params for c in on_ray.checks] == [c.params for c in local.checks]


def test_a_json_array_cleaned_on_ray_is_the_local_bytes(cluster: None, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Kept runs of elements with their own separators, the array's head and tail, copied by the cluster."""
    from harness.audit import clean_dataset

    train_rows, eval_rows = planted_sets()
    train = write(train_rows, tmp_path / "train.json")
    evals = write(eval_rows, tmp_path / "eval.json")
    local = clean_dataset(train, evals, out=tmp_path / "local", params=AuditParams(workers=1))
    parts = spy_ray_writes(monkeypatch, 2048)
    on_ray = clean_dataset(train, evals, out=tmp_path / "ray", params=AuditParams(executor="ray", workers=2))
    assert parts and parts[0] > 2 and local.splits["train"].removed
    assert (tmp_path / "ray" / "train.json").read_bytes() == (tmp_path / "local" / "train.json").read_bytes()
    assert on_ray.splits == local.splits and sorted(p.name for p in (tmp_path / "ray").iterdir()) == \
        ["clean.json", "removed.jsonl", "train.json"]


def test_a_parquet_file_is_read_by_the_actors_and_audits_and_cleans_the_same(
        cluster: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.audit.scan as scan
    import harness.data.loaders as loaders

    monkeypatch.setattr(scan, "CHUNK_ROWS", 16)
    train_rows, eval_rows = planted_sets()
    train = write(train_rows, tmp_path / "train.parquet")
    evals = write(eval_rows, tmp_path / "eval.parquet")
    local = audit_into(tmp_path / "local", train, evals, AuditParams(workers=1))

    def not_loaded(path: Path) -> Any:
        raise AssertionError(f"the driver loaded {path} whole")

    monkeypatch.setattr(loaders, "_table_rows", not_loaded)
    on_ray = audit_into(tmp_path / "ray", train, evals, AuditParams(executor="ray", workers=2))
    assert comparable(on_ray) == comparable(local) and local["summary"]["counts"].get("near_duplicates")
    assert clean_files(tmp_path / "ray") == clean_files(tmp_path / "local")


def test_a_failed_ray_clean_write_leaves_no_part_or_half_file(cluster: None, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.audit.ray_clean as ray_clean
    from harness.audit import clean_dataset

    def broken(out: Any, part: Path) -> None:
        assert part.parent.is_dir() and part.is_file()  # the parts were written before the append
        raise OSError("disk full")

    monkeypatch.setattr(ray_clean, "_append", broken)
    train = write(planted_sets()[0], tmp_path / "train.jsonl")
    with pytest.raises(OSError, match="disk full"):
        clean_dataset(train, out=tmp_path / "out", params=AuditParams(executor="ray", workers=2))
    assert list((tmp_path / "out").iterdir()) == []


def test_a_malformed_row_is_the_first_bad_line_on_ray(cluster: None, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.audit.scan as scan
    from harness.audit import run_audit

    monkeypatch.setattr(scan, "CHUNK_ROWS", 8)
    path = write(real_rows()[:60], tmp_path / "train.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[50] = '{"instruction": 1, "output": "x"}'
    lines[20] = '{"instruction": oops}'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        run_audit(RecordFile.open(path), params=AuditParams(executor="ray", workers=2), progress=False)
    assert f"{path}:21: malformed JSON" in str(err.value)


def test_a_failing_check_in_an_actor_is_one_error_naming_it(cluster: None, tmp_path: Path) -> None:
    from harness.audit import run_audit

    path = write(real_rows()[:30], tmp_path / "train.jsonl")
    params = AuditParams(executor="ray", workers=2, checks=("tests.audit.user_checks:always_fails",))
    with pytest.raises(HarnessError, match="audit check 'always_fails' failed on the train split: Runtime"):
        run_audit(RecordFile.open(path), params=params, progress=False)


class _FakeRay:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def is_initialized(self) -> bool:
        return False

    def init(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


def test_the_cluster_is_the_address_given_else_ray_address_else_local(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.audit.ray_audit as ray_audit

    fake = _FakeRay()
    monkeypatch.setattr(ray_audit, "ray_module", lambda: fake)
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.9:6379")
    ray_audit.connect("10.0.0.5:6379", 2)
    ray_audit.connect(None, 2)
    monkeypatch.delenv("RAY_ADDRESS")
    ray_audit.connect(None, 3)
    assert [c.get("address") for c in fake.calls] == ["10.0.0.5:6379", "10.0.0.9:6379", None]
    assert fake.calls[2]["num_cpus"] == 3 and "num_cpus" not in fake.calls[0]


def test_an_unreachable_cluster_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.audit.ray_audit as ray_audit

    class Refusing(_FakeRay):
        def init(self, **kwargs: Any) -> None:
            raise ConnectionError("Could not find any running Ray instance.\nPlease specify ...")

    monkeypatch.setattr(ray_audit, "ray_module", Refusing)
    with pytest.raises(HarnessError) as err:
        ray_audit.connect("127.0.0.1:1", 2)
    assert "127.0.0.1:1" in str(err.value) and "\n" not in str(err.value)


def test_ray_address_without_the_ray_executor_is_refused(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    train = write(real_rows()[:5], tmp_path / "train.jsonl")
    code = main(["audit", str(train), "--ray-address", "127.0.0.1:6379", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--ray-address" in err and "ray executor" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()
