"""Regenerate the demo data (deterministic): python suites/demo/generate.py

The task: a short story sentence in, a JSON object {"name": ..., "mood": ...} out.
Sentences use TinyStories words so the tiny story model can read them.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

HERE = Path(__file__).parent
NAMES = [
    "Lily",
    "Tom",
    "Sam",
    "Anna",
    "Ben",
    "Mia",
    "Max",
    "Lucy",
    "Tim",
    "Sue",
    "Jack",
    "Emma",
    "Kate",
    "Leo",
    "Zoe",
    "Bob",
    "Amy",
    "Joe",
    "Sara",
    "Dan",
]
MOODS = ["happy", "sad", "angry", "scared", "excited", "tired", "proud", "surprised", "shy", "calm"]
THINGS = ["ball", "cat", "dog", "box", "toy", "cake", "tree", "bird", "car", "hat", "kite", "flower"]
PLACES = ["park", "garden", "house", "forest", "school", "shop", "yard", "room", "lake", "sky"]
TEMPLATES = [
    "{name} was {mood} when {pronoun} saw the {thing} in the {place}.",
    "One day, {name} felt very {mood} at the {place}.",
    "{name} found a big {thing} and was {mood}.",
    "In the {place}, {name} played with a {thing}. {Pronoun} was {mood}.",
    "{name} looked at the {thing}. {Pronoun} felt {mood} and went to the {place}.",
    "The {thing} made {name} feel {mood}.",
]
STORY = [
    "Once upon a time, there was a little {thing} who lived in a {place}.",
    "{name} liked to play in the {place} with {pronoun2} friends.",
    'One day, {name} saw a big {thing} and said, "Look at that!"',
    "The sun was shining and the birds were singing in the {place}.",
    "{name} and {other} shared the {thing} and they were very happy.",
    'Mom said, "Be careful with the {thing}, {name}."',
]
INSTRUCTION = "Give the name and mood as JSON."


def sentence(rng: random.Random, templates: list[str]) -> tuple[str, str, str, tuple[object, ...]]:
    """A sentence, its name and mood, and the slots that make it (to keep eval rows novel)."""
    name, mood = rng.choice(NAMES), rng.choice(MOODS)
    thing, place = rng.choice(THINGS), rng.choice(PLACES)
    which = rng.randrange(len(templates))
    she = rng.random() < 0.5
    text = templates[which].format(
        name=name,
        mood=mood,
        thing=thing,
        place=place,
        pronoun="she" if she else "he",
        Pronoun="She" if she else "He",
        pronoun2="her" if she else "his",
        other=rng.choice(NAMES),
    )
    return text, name, mood, (which, thing, place)


def row(text: str, name: str, mood: str) -> dict[str, str]:
    return {"instruction": INSTRUCTION, "input": text, "output": json.dumps({"name": name, "mood": mood})}


def ngrams(text: str, n: int = 13) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def leaking(train: list[dict[str, str]], candidates: list[dict[str, str]]) -> set[int]:
    """Candidates the harness's own audit flags as leaking into train (near duplicates)."""
    import tempfile

    from harness.audit import run_audit
    from harness.data import load_records

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, rows in (("t.jsonl", train), ("e.jsonl", candidates)):
            path = Path(tmp) / name
            path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
            paths.append(path)
        audit = run_audit(load_records(paths[0]), load_records(paths[1]), progress=False)
    return {
        ref.index for f in audit.findings if f.check == "leakage" for ref in f.refs if ref.split == "eval"
    }


def record_text(r: dict[str, str]) -> str:
    return f"{r['instruction']} {r['input']} {r['output']}"


def main() -> None:
    rng = random.Random(20261124)
    seen: set[str] = set()
    train: list[dict[str, str]] = []
    slots: set[tuple[object, ...]] = set()
    while len(train) < 600:
        text, name, mood, (which, thing, place) = sentence(rng, TEMPLATES)
        if text not in seen:
            seen.add(text)
            slots |= {(which, name, thing), (which, name, place), (which, thing, place)}
            train.append(row(text, name, mood))
    # Templated eval rows easily sit one word away from a train row, which the audit rightly
    # calls leakage. Held-out rows use slot combinations train never saw and share no 13-gram.
    train_grams = set().union(*(ngrams(record_text(r)) for r in train))
    candidates: list[dict[str, str]] = []
    while len(candidates) < 120:
        text, name, mood, (which, thing, place) = sentence(rng, TEMPLATES)
        novel = not {(which, name, thing), (which, name, place), (which, thing, place)} & slots
        candidate = row(text, name, mood)
        if text not in seen and novel and not ngrams(record_text(candidate)) & train_grams:
            seen.add(text)
            candidates.append(candidate)
    eval_ = [r for i, r in enumerate(candidates) if i not in leaking(train, candidates)][:80]
    # Synthetic sets repeat themselves: keep two verbatim repeats so the audit has something to show.
    train += [dict(train[3]), dict(train[10])]
    general = []
    for _ in range(60):
        text, _, _, _ = sentence(rng, STORY)
        general.append({"text": text})
    for name, data in (("train.jsonl", train), ("eval.jsonl", eval_), ("general.jsonl", general)):
        with open(HERE / name, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in data)


if __name__ == "__main__":
    main()
