"""Near-duplicate candidates and their confirmation on a Ray cluster, through Ray Data.

On Ray the train split's record signatures and LSH band keys stay in the
cluster, in the scan's materialized dataset (one row per chunk); the driver
holds only its exact keys and word counts. :meth:`RemoteSplit.confirmed_pairs`
then finds the near-duplicate pairs among the rows the driver names
(one per exact-duplicate group, with words):

1. ``map_batches`` over the scan emits (band, key, row) for those rows, with a
   hash partition of the key;
2. ``groupby`` on that partition hands each partition's rows, whole buckets
   only, to one call, which pairs the rows sharing a bucket in each band
   exactly as the local search does (:func:`harness.audit.lsh.bucket_pairs_at`,
   the same cap on a huge bucket);
3. the driver merges the pairs of every partition (a pair found in several
   bands once), fetches the signatures of the rows in a pair only
   (``map_batches`` over the scan), and keeps the pairs whose MinHash estimate
   comes near the threshold;
4. ``map_batches`` on a pool of actors computes their exact Jaccard, each actor
   parsing the two rows' records from the file itself.

The pairs, Jaccard values and counts are the local search's
(:func:`harness.audit.near_duplicates.confirm_rows`), so are the findings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.audit.arrays import distinct
from harness.audit.lsh import ESTIMATE_MARGIN, Confirmed, bucket_pairs_at, estimate, jaccard, shingle_sets

PARTITIONS_PER_WORKER = 4  # hash partitions of the band keys: a few per worker keeps each group small
PAIRS_PER_BATCH = 4096  # pairs one Jaccard call confirms


def _chunks(batch: Mapping[str, np.ndarray]) -> list[tuple[int, int, bytes, bytes]]:
    return list(zip(batch["lo"].tolist(), batch["hi"].tolist(), batch["sig"].tolist(),
                    batch["bands"].tolist(), strict=True))


def band_rows(batch: dict[str, np.ndarray], wanted: list[Any], bands: int,
              parts: int) -> dict[str, np.ndarray]:
    """(part, band, key, row) of every wanted row of these chunks, in every band."""
    import ray

    mask = ray.get(wanted[0])
    out: dict[str, list[np.ndarray]] = {"part": [], "band": [], "key": [], "row": []}
    for lo, hi, _, blob in _chunks(batch):
        keys = np.frombuffer(blob, dtype=np.uint64).reshape(bands, hi - lo)
        rows = np.flatnonzero(mask[lo:hi])
        flat = keys[:, rows].ravel()
        out["key"].append(flat)
        out["part"].append((flat % np.uint64(parts)).astype(np.int64))
        out["band"].append(np.repeat(np.arange(bands, dtype=np.int64), len(rows)))
        out["row"].append(np.tile(rows + lo, bands).astype(np.int64))
    empty = {"part": np.int64, "band": np.int64, "key": np.uint64, "row": np.int64}
    return {k: np.concatenate(v) if v else np.zeros(0, empty[k]) for k, v in out.items()}


def partition_pairs(group: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Pairs of rows sharing a bucket in some band, among one partition's (band, key, row)s."""
    band, key, row = group["band"], group["key"], group["row"]
    found = [bucket_pairs_at(key[band == b], row[band == b]) for b in distinct(band).tolist()]
    pairs = np.concatenate(found) if found else np.zeros((0, 2), np.int64)
    return {"a": pairs[:, 0].astype(np.int64), "b": pairs[:, 1].astype(np.int64)}


def signatures_of(batch: dict[str, np.ndarray], wanted: list[Any], num_perm: int) -> dict[str, np.ndarray]:
    """(row, signature) of the wanted rows (sorted row numbers) of these chunks."""
    import ray

    ids = ray.get(wanted[0])
    rows, sigs = [], []
    for lo, hi, blob, _ in _chunks(batch):
        sig = np.frombuffer(blob, dtype=np.uint32).reshape(hi - lo, num_perm)
        mine = ids[np.searchsorted(ids, lo):np.searchsorted(ids, hi)]
        rows.append(mine)
        sigs.append(sig[mine - lo])
    return {"row": np.concatenate(rows) if rows else np.zeros(0, np.int64),
            "sig": np.concatenate(sigs) if sigs else np.zeros((0, num_perm), np.uint32)}


class JaccardPairs:
    """A Ray Data actor: the exact shingle Jaccard of pairs of rows, their records parsed here."""

    def __init__(self, jobs: list[Any], name: str, shingle: int) -> None:
        import ray

        self.records = ray.get(jobs[0])[name].records
        self.shingle = shingle

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        pairs = np.stack([batch["a"], batch["b"]], axis=1).astype(np.int64)
        ids = distinct(pairs)
        sets = dict(zip(ids.tolist(), shingle_sets([self.records[int(i)].text for i in ids], self.shingle),
                        strict=True))
        values = np.array([jaccard(sets[int(a)], sets[int(b)]) for a, b in pairs.tolist()], dtype=np.float64)
        return {"a": batch["a"], "b": batch["b"], "jaccard": values}


def _rows(ds: Any, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    parts: dict[str, list[np.ndarray]] = {c: [] for c in columns}
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
        for c in columns:
            parts[c].append(batch[c])
    return {c: np.concatenate(v) if v else np.zeros(0, np.int64) for c, v in parts.items()}


@dataclass(frozen=True)
class RemoteSplit:
    """One split's scan kept in the cluster: record signatures and band keys per chunk of rows."""

    ray: Any
    scanned: Any  # this split's chunks of the scan's materialized dataset: lo, hi, sig, bands (bytes), ...
    jobs: Any  # the object-store ref of the scan's jobs (the records are read from there)
    name: str
    rows: int
    indices: np.ndarray  # each scanned row's record number
    bands: int
    num_perm: int
    workers: int

    def _mine(self) -> Any:
        """This split's chunks: their row range, signatures and band keys (not the driver's results)."""
        return self.scanned.select_columns(["lo", "hi", "sig", "bands"])

    def positions(self, indices: np.ndarray) -> np.ndarray:
        """The scanned rows holding these record numbers (a re-audit's kept rows are a subset)."""
        order = np.argsort(self.indices, kind="stable")
        return order[np.searchsorted(self.indices[order], indices)]

    def candidates(self, rows: np.ndarray) -> np.ndarray:
        """Distinct (a, b), a < b, scanned rows of ``rows`` sharing an LSH bucket in some band."""
        if len(rows) < 2:
            return np.zeros((0, 2), np.int64)
        mask = np.zeros(self.rows, dtype=bool)
        mask[rows] = True
        parts = max(1, PARTITIONS_PER_WORKER * self.workers)
        emitted = self._mine().map_batches(band_rows, fn_args=([self.ray.put(mask)], self.bands, parts),
                                           batch_size=None, batch_format="numpy")
        paired = emitted.groupby("part", num_partitions=parts).map_groups(partition_pairs,
                                                                          batch_format="numpy")
        found = _rows(paired, ("a", "b"))
        if not len(found["a"]):
            return np.zeros((0, 2), np.int64)
        coded = distinct(found["a"] * self.rows + found["b"])
        return np.stack([coded // self.rows, coded % self.rows], axis=1)

    def signatures(self, ids: np.ndarray) -> np.ndarray:
        """The signatures of scanned rows ``ids`` (sorted, distinct)."""
        got = _rows(self._mine().map_batches(signatures_of, fn_args=([self.ray.put(ids)], self.num_perm),
                                             batch_size=None, batch_format="numpy"), ("row", "sig"))
        sig = got["sig"].reshape(-1, self.num_perm).astype(np.uint32)
        return sig[np.argsort(got["row"], kind="stable")]

    def jaccards(self, pairs: np.ndarray, shingle: int) -> np.ndarray:
        pool = self.ray.data.ActorPoolStrategy(min_size=1, max_size=self.workers)
        ds = self.ray.data.from_items([{"a": int(a), "b": int(b)} for a, b in pairs.tolist()],
                                      override_num_blocks=max(1, -(-len(pairs) // PAIRS_PER_BATCH)))
        out = _rows(ds.map_batches(JaccardPairs, fn_constructor_args=([self.jobs], self.name, shingle),
                                   batch_size=PAIRS_PER_BATCH, compute=pool, num_cpus=1,
                                   batch_format="numpy"), ("a", "b", "jaccard"))
        order = np.argsort(out["a"] * self.rows + out["b"], kind="stable")
        return out["jaccard"][order].astype(np.float64)

    def confirmed_pairs(self, rows: np.ndarray, threshold: float, shingle: int) -> Confirmed:
        """:func:`harness.audit.near_duplicates.confirm_rows` of the LSH candidates among ``rows``
        (scanned row positions, ascending): pairs of scanned rows, with their Jaccard."""
        pairs = self.candidates(rows)
        if not len(pairs):
            return Confirmed(pairs, np.zeros(0), 0, 0)
        ids = distinct(pairs)
        sig = self.signatures(ids)
        local = np.searchsorted(ids, pairs)
        near = pairs[estimate(sig, local) >= threshold - ESTIMATE_MARGIN]
        if not len(near):
            return Confirmed(near, np.zeros(0), len(pairs), 0)
        values = self.jaccards(near, shingle)
        keep = values >= threshold
        return Confirmed(near[keep], values[keep], len(pairs), len(near))
