"""Paraphrase leakage on human-labelled pairs: what the n-gram checks and the semantic check flag.

Pairs: MRPC (train + test, ``realdata/dedup/mrpc``: 1 = annotators judged the two
sentences equivalent) and PAWS-Wiki (dev + test, ``realdata/dedup/paws_wiki``: pairs
made by swapping words and back-translation; 1 = paraphrase, 0 = same words,
different meaning). Each dataset is sampled (``--mrpc``, ``--paws`` pairs, seed
``--seed``; PAWS half of each label). One side of every pair goes to train and
the other to eval, as the prompt of an alpaca row (response "OK.", too short to
compare), and ``harness.audit.run_audit`` runs on the two splits:

* lexical: eval rows with a ``leakage`` finding (exact, near duplicate or
  13-gram, on any field), and per kind;
* semantic: eval rows with a ``semantic_leakage`` finding. The audit runs once
  at the lowest threshold of the sweep; a row is flagged at threshold t when
  its best match's cosine (``details.cosine``) is at least t, which is what an
  audit at t reports (``identical`` checks it: a second audit at the chosen
  threshold on the first ``--verify`` pairs of each dataset must flag exactly
  the rows an audit of those pairs at the lowest threshold predicts).

Per threshold: MRPC precision and recall (label 1 = positive) and PAWS label-0
false alarms (and label-1 recall). The threshold chosen is the one with the
largest Youden index on MRPC (recall minus the label-0 flag rate) among those
keeping PAWS label-0 false alarms under ``--max-false-alarm`` (10%).

Timing: ``ours_s`` is the audit with the semantic check, ``anchor_s`` the same
audit without it (the lexical checks alone), so ``ratio`` < 1 says how much the
embeddings cost.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench._planted_data import realdata_dir

Pair = tuple[int, str, str]  # label, side 1, side 2
THRESHOLDS = tuple(round(0.70 + 0.02 * k, 2) for k in range(15))  # 0.70 .. 0.98


def read_mrpc(path: Path) -> list[Pair]:
    """MRPC rows ``Quality, #1 ID, #2 ID, #1 String, #2 String`` (UTF-8 with BOM, tab-separated)."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()[1:]
    return [(int(q), a, b) for q, _, _, a, b in (line.split("\t") for line in lines if line.strip())]


def read_paws(path: Path) -> list[Pair]:
    """PAWS rows ``id, sentence1, sentence2, label``."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [(int(lab), a, b) for _, a, b, lab in (line.split("\t") for line in lines if line.strip())]


def sample(pairs: Sequence[Pair], n: int, seed: int, *, per_label: bool) -> list[Pair]:
    """``n`` pairs (half of each label when ``per_label``), without a sentence seen twice."""
    rng = random.Random(seed)
    shuffled = list(pairs)
    rng.shuffle(shuffled)
    seen: set[str] = set()
    want = {0: n // 2, 1: n - n // 2} if per_label else None
    out: list[Pair] = []
    for lab, a, b in shuffled:
        if a in seen or b in seen or (want is not None and want[lab] == 0):
            continue
        seen.update((a, b))
        out.append((lab, a, b))
        if want is not None:
            want[lab] -= 1
        if len(out) == n:
            break
    return out


def _records(texts: Sequence[str]) -> list[Any]:
    from harness.data.record import ASSISTANT, USER, Record, Turn

    return [Record(turns=(Turn(USER, t), Turn(ASSISTANT, "OK.")), index=i, source="pairs", format="alpaca")
            for i, t in enumerate(texts)]


OVERLAP = {"max": 0.8}  # --max-word-overlap: the audit's semantic_max_word_overlap


def audit_pairs(pairs: Sequence[Pair], threshold: float | None) -> tuple[Any, float]:
    """The audit of side 1 (train) against side 2 (eval); no semantic check when threshold is None."""
    from harness.audit import AuditParams, run_audit

    params = AuditParams(workers=1, semantic=threshold is not None, semantic_threshold=threshold or 0.9,
                         semantic_max_word_overlap=OVERLAP["max"])
    start = time.perf_counter()
    result = run_audit(_records([a for _, a, _ in pairs]), _records([b for _, _, b in pairs]),
                       params=params, progress=False)
    return result, time.perf_counter() - start


def lexical_flags(result: Any) -> dict[str, set[int]]:
    """Eval rows flagged by ``leakage``: any kind, and per kind (exact, near_duplicate, ngram)."""
    out: dict[str, set[int]] = {"any": set(), "exact": set(), "near_duplicate": set(), "ngram": set()}
    for f in result.findings:
        if f.check == "leakage" and "eval_index" in f.details:
            e = int(f.details["eval_index"])
            out["any"].add(e)
            for kind in f.details["how"]:
                out[kind.split()[0]].add(e)
    return out


def semantic_cosines(result: Any) -> dict[int, float]:
    """Eval row -> the cosine of its best semantic match."""
    return {int(f.details["eval_index"]): float(f.details["cosine"])
            for f in result.findings if f.check == "semantic_leakage"}


def rates(labels: Sequence[int], flagged: set[int]) -> dict[str, Any]:
    """Flag counts and shares per label, precision and recall (label 1 positive)."""
    n1 = sum(labels)
    n0 = len(labels) - n1
    f1 = sum(1 for i in flagged if labels[i] == 1)
    f0 = len(flagged) - f1
    return {"flagged_1": f1, "flagged_0": f0, "rate_1": f1 / max(1, n1), "rate_0": f0 / max(1, n0),
            "precision": f1 / len(flagged) if flagged else None, "recall": f1 / max(1, n1)}


def sweep(labels: Sequence[int], cosines: dict[int, float]) -> dict[float, dict[str, Any]]:
    return {t: rates(labels, {e for e, c in cosines.items() if c >= t}) for t in THRESHOLDS}


Sweep = dict[float, dict[str, Any]]


def choose(mrpc: Sweep, paws: Sweep, limit: float) -> float | None:
    """The threshold with the best MRPC Youden index among those under the PAWS label-0 limit."""
    ok = [t for t in THRESHOLDS if paws[t]["rate_0"] < limit]
    return max(ok, key=lambda t: (mrpc[t]["rate_1"] - mrpc[t]["rate_0"], t)) if ok else None


def table(name: str, pairs: Sequence[Pair], lexical: dict[str, set[int]], sem: set[int]) -> list[str]:
    rows = []
    for lab in (1, 0):
        idx = {i for i, p in enumerate(pairs) if p[0] == lab}
        n = len(idx)

        def share(s: set[int], idx: set[int] = idx, n: int = n) -> str:
            return f"{len(s & idx):5d} ({100 * len(s & idx) / max(1, n):5.1f}%)"

        rows.append(f"| {name} | {lab} | {n} | {share(lexical['any'])} | {share(lexical['exact'])} | "
                    f"{share(lexical['near_duplicate'])} | {share(lexical['ngram'])} | {share(sem)} | "
                    f"{share(lexical['any'] | sem)} |")
    return rows


def _verified(pairs: Sequence[Pair], threshold: float) -> bool:
    """An audit at ``threshold`` flags exactly the rows whose best cosine at the sweep's floor reaches it."""
    low = semantic_cosines(audit_pairs(pairs, THRESHOLDS[0])[0])
    at = semantic_cosines(audit_pairs(pairs, threshold)[0])
    return set(at) == {e for e, c in low.items() if c >= threshold}


def run(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="semantic_pairs")
    parser.add_argument("--mrpc", type=int, default=2000, help="MRPC pairs sampled (of 5,801)")
    parser.add_argument("--paws", type=int, default=2000, help="PAWS pairs, half per label (of 16,000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verify", type=int, default=300, help="pairs per dataset re-audited at the choice")
    parser.add_argument("--max-false-alarm", type=float, default=0.10)
    parser.add_argument("--max-word-overlap", type=float, default=0.8,
                        help="pairs sharing more words go to the lexical checks (1.0: only equal word sets)")
    args = parser.parse_args(argv)
    OVERLAP["max"] = args.max_word_overlap

    root = realdata_dir() / "dedup"
    data = {
        "MRPC": sample(read_mrpc(root / "mrpc" / "msr_paraphrase_train.txt")
                       + read_mrpc(root / "mrpc" / "msr_paraphrase_test.txt"), args.mrpc, args.seed,
                       per_label=False),
        "PAWS": sample(read_paws(root / "paws_wiki" / "dev.tsv") + read_paws(root / "paws_wiki" / "test.tsv"),
                       args.paws, args.seed, per_label=True),
    }
    ours = anchor = 0.0
    lexical: dict[str, dict[str, set[int]]] = {}
    cosines: dict[str, dict[int, float]] = {}
    sweeps: dict[str, dict[float, dict[str, Any]]] = {}
    for name, pairs in data.items():
        result, seconds = audit_pairs(pairs, THRESHOLDS[0])
        ours += seconds
        lex_result, seconds = audit_pairs(pairs, None)
        anchor += seconds
        lexical[name] = lexical_flags(lex_result)
        cosines[name] = semantic_cosines(result)
        sweeps[name] = sweep([p[0] for p in pairs], cosines[name])
    chosen = choose(sweeps["MRPC"], sweeps["PAWS"], args.max_false_alarm)
    identical = chosen is not None and all(_verified(pairs[: args.verify], chosen) for pairs in data.values())

    print("| threshold | MRPC precision | MRPC recall | MRPC label-0 flagged | PAWS label-0 flagged "
          "| PAWS label-1 flagged |")
    print("|---|---|---|---|---|---|")
    for t in THRESHOLDS:
        m, p = sweeps["MRPC"][t], sweeps["PAWS"][t]
        prec = "-" if m["precision"] is None else f"{m['precision']:.3f}"
        print(f"| {t:.2f}{' (chosen)' if t == chosen else ''} | {prec} | {m['recall']:.3f} | "
              f"{m['rate_0']:.3f} | {p['rate_0']:.3f} | {p['rate_1']:.3f} |")
    print()
    print(f"eval rows flagged at threshold {chosen} (one side of each pair in train, the other in eval):")
    print("| data | label | pairs | lexical (any) | exact | near duplicate | 13-gram | semantic | either |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, pairs in data.items():
        sem = {e for e, c in cosines[name].items() if chosen is not None and c >= chosen}
        for line in table(name, pairs, lexical[name], sem):
            print(line)
    per_threshold = {f"{t:.2f}": {"mrpc": sweeps["MRPC"][t], "paws": sweeps["PAWS"][t]} for t in THRESHOLDS}
    ratio = round(anchor / max(ours, 1e-9), 4)
    return {"ours_s": round(ours, 3), "anchor_s": round(anchor, 3), "ratio": ratio,
            "max_word_overlap": args.max_word_overlap,
            "identical": identical, "threshold": chosen, "pairs": {k: len(v) for k, v in data.items()},
            "per_threshold": per_threshold,
            "mrpc_at_threshold": sweeps["MRPC"][chosen] if chosen is not None else None,
            "paws_at_threshold": sweeps["PAWS"][chosen] if chosen is not None else None,
            "lexical": {k: {kind: len(s) for kind, s in v.items()} for k, v in lexical.items()}}
