"""Cutting a cleaned file's byte ranges into parts for the cluster (no Ray needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.audit.clean_write import copy_plan, prepare_folder
from harness.audit.ray_clean import split_parts
from harness.data.spans import RowSpans


def _joined(data: bytes, parts: list[tuple[np.ndarray, np.ndarray]]) -> bytes:
    return b"".join(data[a:b] for lo, hi in parts for a, b in zip(lo.tolist(), hi.tolist(), strict=True))


@pytest.mark.parametrize("size", [1, 7, 64, 1000, 10_000])
def test_parts_hold_the_ranges_bytes_in_order_and_at_most_size_each(size: int) -> None:
    rng = np.random.default_rng(size)
    data = bytes(rng.integers(0, 256, 5000, dtype=np.uint8))
    starts = np.sort(rng.choice(5000, 40, replace=False)).astype(np.int64)
    ends = np.minimum(starts + rng.integers(0, 300, 40), 5000).astype(np.int64)
    parts = split_parts(starts, ends, size)
    whole = b"".join(data[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True))
    assert _joined(data, parts) == whole
    sizes = [int((hi - lo).sum()) for lo, hi in parts]
    assert all(s == size for s in sizes[:-1]) and 0 < sizes[-1] <= size
    assert len(parts) == -(-len(whole) // size)


def test_no_bytes_no_parts() -> None:
    assert split_parts(np.array([3, 5]), np.array([3, 5]), 10) == []


def test_a_plan_with_no_row_kept_is_the_empty_file() -> None:
    n = np.array([0, 4], np.int64)
    jsonl = RowSpans("jsonl", __file__, b"\xef\xbb\xbf{}\n{}\n", n + 3, n + 6, np.array([1, 2]),
                     head=b"\xef\xbb\xbf")  # type: ignore[arg-type]
    plan = copy_plan(jsonl, np.zeros(0, np.int64))
    assert (plan.head, len(plan.starts), plan.tail) == (b"\xef\xbb\xbf", 0, b"")
    csv = RowSpans("csv", __file__, b"a\n1\n", n[:1] + 2, n[:1] + 4, np.array([2]), head=b"a\n",
                   empty=b"a\n")  # type: ignore[arg-type]
    assert copy_plan(csv, np.zeros(0, np.int64)).head == b"a\n"


def test_a_killed_ray_clean_s_part_folder_is_cleared_by_the_next_clean(tmp_path: Path) -> None:
    parts = tmp_path / ".train.jsonl.k3j_x9.tmp"
    parts.mkdir()
    (parts / "00000000").write_bytes(b"{}\n")
    prepare_folder(tmp_path, force=False)  # no refusal: nothing but a killed clean's leftovers
    assert list(tmp_path.iterdir()) == []
