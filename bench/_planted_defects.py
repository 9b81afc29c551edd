"""A labelled planted-defect set: clean real rows plus known defects, for recall and false alarms.

Two sets are built from the deduplicated real pool (``_planted_data.real_pool``):

* set A (free-text targets): clean train and eval rows from disjoint parts of
  the pool, then per class ``per_class`` planted defects: exact duplicates,
  normalized duplicates (case, whitespace, NFKC-folded characters), near
  duplicates at a measured word-5-gram Jaccard in [0.85, 0.98], eval rows
  copied into train, eval rows lightly edited into train (1-3 words
  replaced, punctuation changed), eval answer spans (20-30 words) pasted into
  another train row's response, MMLU test questions inserted (three prompt
  layouts), and empty targets;
* set B (JSON-object targets: the real response wrapped in an object): broken
  JSON targets (truncated, single-quoted, trailing comma, unquoted key, bare
  text).

The Jaccard of a near duplicate is measured here with plain Python sets of
word 5-gram tuples (an independent implementation, not the audit's hashes).
Every row a defect touches (the copy and its source) is "involved"; the rest
are clean, and a clean row in any finding of the planted classes' checks is
a false alarm.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from dataclasses import dataclass, field

from bench._planted_data import Pair, vocabulary
from harness.audit.benchmarks import BenchmarkDoc, mmlu_text

WORDS = re.compile(r"\w+")
CLASSES = ("exact_duplicate", "normalized_duplicate", "near_duplicate", "eval_copied", "eval_edited",
           "answer_span", "mmlu_inserted", "empty_target", "broken_json")


@dataclass(frozen=True)
class Label:
    """One planted defect: which rows (0-based record numbers) and what the audit should say."""

    kind: str
    train: tuple[int, ...] = ()  # train rows that must appear together
    eval: int | None = None  # the leaking eval row
    bench: int | None = None  # the MMLU document index
    note: str = ""


@dataclass
class PlantedSet:
    train: list[Pair]
    eval: list[Pair]
    labels: list[Label] = field(default_factory=list)
    involved_train: set[int] = field(default_factory=set)
    involved_eval: set[int] = field(default_factory=set)

    def add_train(self, pair: Pair) -> int:
        self.train.append(pair)
        self.involved_train.add(len(self.train) - 1)
        return len(self.train) - 1


def shingle_jaccard(a: str, b: str, k: int = 5) -> float:
    """Exact Jaccard of word k-gram sets (lowercase word tokens), in plain Python."""
    def grams(t: str) -> set[tuple[str, ...]]:
        w = WORDS.findall(unicodedata.normalize("NFKC", t).casefold())
        return {tuple(w[i:i + k]) for i in range(len(w) - k + 1)} if len(w) >= k else {tuple(w)}
    x, y = grams(a), grams(b)
    return len(x & y) / len(x | y) if x | y else 1.0


def _record(pair: Pair) -> str:
    return pair[0] + "\n" + pair[1]


def _replace_words(text: str, count: int, rng: random.Random, vocab: list[str]) -> str:
    words = text.split(" ")
    spots = [i for i, w in enumerate(words) if w.isalpha()]
    for i in rng.sample(spots, min(count, len(spots))):
        words[i] = rng.choice(vocab)
    return " ".join(words)


def _normalized_variant(text: str, rng: random.Random) -> str:
    """Same text after NFKC + casefold + whitespace collapse, different bytes."""
    choice = rng.randrange(3)
    if choice == 0:
        return "  " + text.upper().replace(" ", "   ") + "\n"
    if choice == 1:  # fullwidth letters fold back under NFKC
        return "".join(chr(ord(c) + 0xFEE0) if "a" <= c <= "z" and rng.random() < 0.3 else c for c in text)
    return text.replace(" ", "\u00a0", 5).title()  # no-break spaces (NFKC: space), title case


def _near_variant(pair: Pair, rng: random.Random, vocab: list[str]) -> tuple[Pair, float] | None:
    """Edit the response word by word until the record's Jaccard falls in [0.85, 0.98]."""
    target = rng.uniform(0.85, 0.98)
    prompt, response = pair
    words = response.split(" ")
    spots = [i for i, w in enumerate(words) if w.isalpha()]
    rng.shuffle(spots)
    for spot in spots:
        words[spot] = rng.choice(vocab)
        j = shingle_jaccard(_record(pair), _record((prompt, " ".join(words))))
        if j <= target:
            return ((prompt, " ".join(words)), j) if j >= 0.85 else None
    return None


def _mmlu_prompt(doc: BenchmarkDoc, layout: int) -> Pair:
    question, choices = doc.parts[0], doc.parts[1:]
    answer = choices["ABCD".index(doc.answer or "A")]
    if layout == 0:  # lm-eval layout
        return mmlu_text(question, choices) + "\nAnswer:", f"{doc.answer}. {answer}"
    if layout == 1:  # question and a bulleted list of options
        return ("Answer the following multiple choice question.\n\n" + question + "\n"
                + "\n".join(f"- {c}" for c in choices), f"The correct option is: {answer}")
    return question, f"{answer}. This follows from the definition."


def _plant_duplicates(s: PlantedSet, rng: random.Random, vocab: list[str], n: int, clean: list[int]) -> None:
    for kind in ("exact_duplicate", "normalized_duplicate"):
        for src in (clean.pop() for _ in range(n)):
            s.involved_train.add(src)
            p, r = s.train[src]
            copy = (p, r) if kind == "exact_duplicate" else \
                (_normalized_variant(p, rng), _normalized_variant(r, rng))
            s.labels.append(Label(kind, (src, s.add_train(copy))))
    made = 0
    while made < n:
        src = clean.pop()
        if len(_record(s.train[src]).split()) < 60:
            continue
        near = _near_variant(s.train[src], rng, vocab)
        if near is None:
            continue
        s.involved_train.add(src)
        s.labels.append(Label("near_duplicate", (src, s.add_train(near[0])), note=f"jaccard={near[1]:.3f}"))
        made += 1


def _plant_leaks(s: PlantedSet, rng: random.Random, vocab: list[str], n: int, clean_train: list[int],
                 clean_eval: list[int]) -> None:
    for _ in range(n):
        e = clean_eval.pop()
        s.involved_eval.add(e)
        s.labels.append(Label("eval_copied", (s.add_train(s.eval[e]),), eval=e))
    for _ in range(n):
        e = clean_eval.pop()
        s.involved_eval.add(e)
        p, r = s.eval[e]
        edited = (p.replace(".", "!", 1), _replace_words(r, rng.randint(1, 3), rng, vocab))
        s.labels.append(Label("eval_edited", (s.add_train(edited),), eval=e))
    made = 0
    while made < n:
        e = clean_eval.pop()
        words = s.eval[e][1].split()
        if len(words) < 35:
            continue
        length = rng.randint(20, 30)
        start = rng.randrange(len(words) - length)
        host = clean_train.pop()
        s.involved_eval.add(e)
        s.involved_train.add(host)
        p, r = s.train[host]
        s.train[host] = (p, r + "\n\nAs noted elsewhere: " + " ".join(words[start:start + length]))
        s.labels.append(Label("answer_span", (host,), eval=e))
        made += 1


def build_set_a(pool: list[Pair], mmlu: list[BenchmarkDoc], *, train_rows: int, eval_rows: int,
                per_class: int, seed: int) -> PlantedSet:
    rng = random.Random(seed)
    vocab = vocabulary(pool)
    s = PlantedSet(train=list(pool[eval_rows:eval_rows + train_rows]), eval=list(pool[:eval_rows]))
    clean_train = list(range(len(s.train)))
    clean_eval = list(range(len(s.eval)))
    rng.shuffle(clean_train)
    rng.shuffle(clean_eval)
    _plant_duplicates(s, rng, vocab, per_class, clean_train)
    _plant_leaks(s, rng, vocab, per_class, clean_train, clean_eval)
    for k, doc in enumerate(rng.sample(mmlu, per_class)):
        s.labels.append(Label("mmlu_inserted", (s.add_train(_mmlu_prompt(doc, k % 3)),), bench=doc.index,
                              note=f"layout={k % 3}"))
    for _ in range(per_class):
        row = clean_train.pop()
        s.involved_train.add(row)
        s.train[row] = (s.train[row][0], rng.choice(["", " ", "\n\n", "\t"]))
        s.labels.append(Label("empty_target", (row,)))
    return s


def _break_json(text: str, k: int) -> str:
    if k == 0:
        return text[: len(text) // 2]  # truncated
    if k == 1:
        return text.replace('"', "'")  # single quotes
    if k == 2:
        return text[:-1] + ', }'  # trailing comma
    if k == 3:
        return text.replace('"answer"', "answer", 1)  # unquoted key
    return json.loads(text)["answer"]  # bare text, no object


def build_set_b(pool: list[Pair], *, rows: int, per_class: int, seed: int) -> PlantedSet:
    rng = random.Random(seed)
    topics = ["howto", "math", "writing", "facts", "code"]
    train = [(p, json.dumps({"answer": r, "topic": rng.choice(topics), "words": len(r.split())}))
             for p, r in pool[:rows]]
    s = PlantedSet(train=train, eval=[])
    for k, row in enumerate(rng.sample(range(rows), per_class)):
        s.involved_train.add(row)
        s.train[row] = (s.train[row][0], _break_json(s.train[row][1], k % 5))
        s.labels.append(Label("broken_json", (row,), note=f"break={k % 5}"))
    return s
