"""Real instruction text for the audit benchmarks, and large sets made from it.

The pool is every instruction/response pair of ``realdata/instruct`` (Alpaca
demo, Alpaca seed tasks, GSM8K train, Dolly), with duplicates removed (by
normalized prompt and by normalized response), shuffled with a fixed seed.

Large sets (``synthetic_rows``) sample pool rows with replacement and perturb
each copy: every word is replaced, with probability ``rate``, by a word drawn
from the pool's vocabulary. At the default 20% a copy keeps about a third of
its word 5-grams and 5% of its 13-grams, so copies of one source are neither
near duplicates nor (mostly) 13-gram leaks of each other, while the text keeps
the length, vocabulary and word statistics of real data.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from harness.audit.normalize import exact_form

ROOT = Path(__file__).resolve().parents[1]
Pair = tuple[str, str]


def realdata_dir() -> Path:
    """``$HARNESS_REALDATA`` or ``../shared/realdata`` next to the checkout."""
    return Path(os.environ.get("HARNESS_REALDATA", ROOT.parent / "shared" / "realdata"))


def _alpaca(path: Path) -> list[Pair]:
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [((r["instruction"] + ("\n\n" + r["input"] if r.get("input", "").strip() else "")), r["output"])
            for r in rows]


def _seed_tasks(path: Path) -> list[Pair]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        inst = row["instances"][0]
        extra = "\n\n" + inst["input"] if inst.get("input", "").strip() else ""
        out.append((row["instruction"] + extra, inst["output"]))
    return out


_DOLLY = re.compile(r"### Instruction:\n(.*?)\n\n(?:### Input:\n(.*?)\n\n)?### Response:", re.S)


def _dolly(path: Path) -> list[Pair]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        m = _DOLLY.search(row["prompt"])
        if m:
            prompt = m.group(1) + ("\n\n" + m.group(2) if m.group(2) else "")
            out.append((prompt, row["answer"].replace("###eos_token###", "").strip()))
    return out


def real_pool(root: Path | None = None, seed: int = 0) -> list[Pair]:
    """Deduplicated real (prompt, response) pairs, shuffled with ``seed``."""
    base = (root or realdata_dir()) / "instruct"
    pairs = (_alpaca(base / "alpaca_en_demo_999.json") + _alpaca(base / "gsm8k_train_alpaca_format.json")
             + _seed_tasks(base / "alpaca_seed_tasks.jsonl") + _dolly(base / "dolly_151_alpaca_prompt.jsonl"))
    seen_p, seen_r, out = set(), set(), []
    for prompt, response in pairs:
        p, r = exact_form(prompt), exact_form(response)
        if not p or not r or p in seen_p or r in seen_r:
            continue
        seen_p.add(p)
        seen_r.add(r)
        out.append((prompt, response))
    random.Random(seed).shuffle(out)
    return out


def vocabulary(pool: list[Pair]) -> list[str]:
    words = {w for p, r in pool for w in (p + " " + r).split() if w.isalpha()}
    return sorted(words)


def perturb(text: str, rng: random.Random, rate: float, vocab: list[str]) -> str:
    """Replace each whitespace-separated word with probability ``rate`` (line breaks kept)."""
    lines = []
    for line in text.split("\n"):
        words = line.split(" ")
        lines.append(" ".join(rng.choice(vocab) if w and rng.random() < rate else w for w in words))
    return "\n".join(lines)


def synthetic_rows(pool: list[Pair], n: int, seed: int, rate: float = 0.2) -> list[dict[str, str]]:
    """``n`` alpaca rows: perturbed copies of pool rows drawn with replacement."""
    return list(iter_synthetic_rows(pool, n, seed, rate))


def iter_synthetic_rows(pool: list[Pair], n: int, seed: int, rate: float = 0.2) -> Iterator[dict[str, str]]:
    """:func:`synthetic_rows` one at a time (the first ``k`` rows do not depend on ``n``)."""
    rng = random.Random(seed)
    vocab = vocabulary(pool)
    for _ in range(n):
        prompt, response = pool[rng.randrange(len(pool))]
        yield {"instruction": perturb(prompt, rng, rate, vocab), "input": "",
               "output": perturb(response, rng, rate, vocab)}


def write_jsonl(rows: Iterable[dict[str, str]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (pool workers), user + system."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
