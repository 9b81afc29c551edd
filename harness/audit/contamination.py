"""Benchmark contamination: train and eval rows holding benchmark items.

Per benchmark, one gram index is built once from every document, vectorized:
the word 13-grams of the document text (question plus lettered choices) and
of the question, of each choice and of the question followed by its choices
without letters (a bulleted or numbered layout), plus the
``benchmark_part_words``-grams (8 by default) of a question, or question with
choices, too short for a 13-gram, so a short MMLU question pasted into a
prompt is found too (GPT-3 appendix C likewise lowered N to 8 for benchmarks of
short items). Train and eval records are probed
during the signature stage; exact matches compare normalized prompt, response
and record with the normalized question and document.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.audit.arrays import maybe_in
from harness.audit.benchmarks import LETTERS, BenchmarkDoc, mmlu_text
from harness.audit.evidence import capped, member
from harness.audit.hashing import GramBatch
from harness.audit.ngrams import GramIndex, Hits, drop_frequent, gram_texts
from harness.audit.normalize import exact_stream, word_form, word_stream
from harness.audit.params import AuditParams
from harness.audit.scan import chunk_bounds
from harness.audit.splits import FIELDS, SplitData
from harness.results import Finding, Ref

CHECK = "contamination"


@dataclass(frozen=True)
class BenchIndex:
    """One benchmark's gram index and exact keys (normalized question and document)."""

    name: str
    docs: Sequence[BenchmarkDoc]
    grams: GramIndex
    exact_keys: np.ndarray  # uint64, sorted
    exact_docs: np.ndarray  # int64 doc positions, aligned with exact_keys
    exact_kinds: np.ndarray  # "question" | "document", aligned


def _forms(d: BenchmarkDoc, parts: list[bytes]) -> list[tuple[bytes, bool]]:
    """Word streams to index, each with whether it may match by short grams.

    The document, its question, the question followed by its choices without
    letters (a bulleted or numbered layout), and each choice. Only the question
    and the question with its choices may match by ``benchmark_part_words``-
    grams when short; a short choice ("between the United States and the
    Soviet Union") is too common a phrase to count. ``parts`` are the word
    streams of ``d.parts``; the lettered document is composed from them (the
    same tokens as normalizing ``d.text``).
    """
    if not parts or d.text != mmlu_text(d.parts[0], d.parts[1:]):
        return [(word_form(d.text).encode("utf-8"), False), *((p, True) for p in parts[:1])]
    question, choices = parts[0], parts[1:]
    lettered = [question]
    for letter, c in zip(LETTERS, choices, strict=False):
        lettered += [letter.lower().encode("ascii"), c]
    out = [(b" ".join(lettered), False), (question, True)]
    if choices:
        out += [(b" ".join([question, *choices]), True), *((c, False) for c in choices)]
    return out


def _units(docs: Sequence[BenchmarkDoc]) -> list[tuple[int, bytes, bool]]:
    """(doc, word stream, short ok) for every form of every document."""
    flat = word_stream([p for d in docs for p in d.parts]).split(b"\x00") if any(d.parts for d in docs) \
        else []
    out, at = [], 0
    for i, d in enumerate(docs):
        parts = flat[at:at + len(d.parts)]
        at += len(d.parts)
        out += [(i, form, ok) for form, ok in _forms(d, parts)]
    return out


def _bench_grams(units: list[tuple[int, bytes, bool]], params: AuditParams) -> tuple[np.ndarray, np.ndarray]:
    """(hash, doc) of every n-gram, and of the short-n-grams of short questions."""
    hashes, owners = [], []
    texts = [t for _, t, _ in units]
    owner = np.array([i for i, _, _ in units], dtype=np.int64)
    short_ok = np.array([ok for _, _, ok in units], dtype=bool)
    short_n = min(params.benchmark_part_words, params.ngram)
    for lo, hi in chunk_bounds(texts):
        batch = GramBatch.from_streams(texts[lo:hi])
        h, unit = batch.grams(params.ngram)
        short_h, short_unit = batch.grams(short_n)
        keep = (batch.word_counts[short_unit] < params.ngram) & short_ok[lo:hi][short_unit]
        hashes += [h, short_h[keep]]
        owners += [owner[lo:hi][unit], owner[lo:hi][short_unit[keep]]]
    return np.concatenate(hashes), np.concatenate(owners)


def _gram_index(docs: Sequence[BenchmarkDoc], params: AuditParams) -> GramIndex:
    hashes, owners = _bench_grams(_units(docs), params)
    lengths = sorted({params.ngram, min(params.benchmark_part_words, params.ngram)})
    return GramIndex.build(hashes, owners, len(docs), lengths,
                           max_share=params.boilerplate_share, min_docs=params.boilerplate_min_rows)


def build_bench_index(name: str, docs: Sequence[BenchmarkDoc], params: AuditParams) -> BenchIndex:
    # The gram index (numpy sorts, which let go of the GIL) on a thread beside the exact keys: the
    # scans wait for both while the second core idles.
    with ThreadPoolExecutor(1, thread_name_prefix="bench-index") as pool:
        grams_job = pool.submit(_gram_index, docs, params)
        exact = _exact_keys(docs, params)
        grams = grams_job.result()
    return BenchIndex(name, docs, grams, *exact)


def _exact_keys(docs: Sequence[BenchmarkDoc],
                params: AuditParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted exact keys of each document and question of enough words, with their doc and kind."""
    texts, owners, kinds = [], [], []
    for i, d in enumerate(docs):
        question = d.parts[0] if d.parts and d.parts[0] != d.text else None
        for kind, text in (("document", d.text), ("question", question)):
            if text is not None:
                texts.append(text)
                owners.append(i)
                kinds.append(kind)
    batches = [GramBatch.from_bytes(exact_stream(texts[lo:hi]), hi - lo) for lo, hi in chunk_bounds(texts)]
    counts = np.concatenate([b.word_counts for b in batches]) if batches else np.zeros(0, np.int64)
    long_enough = np.flatnonzero(counts >= params.min_field_words)
    keys = (np.concatenate([b.whole() for b in batches]) if batches else np.zeros(0, np.uint64))[long_enough]
    owners = [owners[i] for i in long_enough]
    kinds = [kinds[i] for i in long_enough]
    order = np.argsort(keys, kind="stable")
    return keys[order], np.array(owners, dtype=np.int64)[order], np.array(kinds)[order]


Matches = dict[tuple[int, int], dict[str, Any]]  # (row, doc) -> evidence


def _exact(data: SplitData, bench: BenchIndex, found: Matches) -> None:
    for field in FIELDS:
        keys = data.scans[field].keys
        rows = maybe_in(bench.exact_keys, keys)  # most rows hold no benchmark text: search the others
        lo = np.searchsorted(bench.exact_keys, keys[rows], "left")
        hi = np.searchsorted(bench.exact_keys, keys[rows], "right")
        for i in np.flatnonzero((hi > lo) & (keys[rows] != 0)).tolist():
            row = int(rows[i])
            for k in range(lo[i], hi[i]):
                entry = found.setdefault((row, int(bench.exact_docs[k])), {"how": []})
                entry["how"].append(f"exact {bench.exact_kinds[k]} = {field}")


def _ngrams(data: SplitData, bench: BenchIndex, hits: Hits, params: AuditParams,
            found: Matches) -> int:
    kept, dropped = drop_frequent(hits, params.boilerplate_rows(data.size))
    which, docs = bench.grams.docs_of(kept.keys)
    shared: dict[tuple[int, int], set[int]] = defaultdict(set)
    for w, doc in zip(which.tolist(), docs.tolist(), strict=True):
        shared[(int(kept.rows[w]), doc)].add(int(bench.grams.keys[kept.keys[w]]))
    for key, hashes in shared.items():
        entry = found.setdefault(key, {"how": []})
        entry["how"].append("ngram")
        entry["_hashes"] = hashes
    return dropped


def _finding(row: int, entries: list[tuple[int, dict[str, Any]]], data: SplitData, bench: BenchIndex,
             params: AuditParams) -> Finding:
    text = data.texts["record"][row]
    shown = []
    for k, (doc, entry) in enumerate(entries):
        hashes = entry.pop("_hashes", set())
        d = bench.docs[doc]
        shown_grams = k < params.max_members and hashes  # only listed docs need their gram texts
        shown.append({"index": d.index, "id": d.id, "how": entry["how"],
                      "shared_ngrams": len(hashes),
                      "ngrams": gram_texts(text, hashes, bench.grams.probe.lengths) if shown_grams else []})
    ids = ", ".join(s["id"] for s in shown[:3]) + (", ..." if len(shown) > 3 else "")
    kinds = sorted({h.split(" =")[0] for s in shown for h in s["how"]})
    return Finding(
        check=CHECK, severity="error",
        message=f"{data.split} row {data.index(row)} contains {len(shown)} {bench.name} item(s) ({ids}): "
                f"{', '.join(kinds)}",
        refs=[data.ref(row),
              *(Ref(split="benchmark", index=s["index"]) for s in shown[: params.max_members])],
        details={"benchmark": bench.name, "how": kinds,
                 **capped("members", [member(data.split, data.index(row), text),
                                      *(member("benchmark", bench.docs[doc].index, bench.docs[doc].text,
                                               id=bench.docs[doc].id) for doc, _ in entries)],
                          params.max_members + 1),
                 **capped("docs", shown, params.max_members)})


def contamination(data: SplitData, bench: BenchIndex, hits: Hits,
                  params: AuditParams) -> tuple[list[Finding], dict[str, Any]]:
    """One error finding per row of ``data`` that holds items of ``bench``."""
    found: Matches = {}
    _exact(data, bench, found)
    dropped = _ngrams(data, bench, hits, params, found)
    by_row: dict[int, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for (row, doc), entry in sorted(found.items()):
        by_row[row].append((doc, entry))
    for entries in by_row.values():  # strongest first: exact matches, then most shared grams
        entries.sort(key=lambda e: (not any(h.startswith("exact") for h in e[1]["how"]),
                                    -len(e[1].get("_hashes", ())), e[0]))
    findings = [_finding(row, entries, data, bench, params) for row, entries in sorted(by_row.items())]
    return findings, {"rows": len(findings), "boilerplate_grams": bench.grams.dropped + dropped}
