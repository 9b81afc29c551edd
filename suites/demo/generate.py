"""Regenerate the demo data (deterministic): python suites/demo/generate.py

The task: a short story sentence in, a JSON object {"name": ..., "mood": ...} out.
Sentences use TinyStories words so the tiny story model can read them.
"""

from __future__ import annotations

import json
import random
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


def sentence(rng: random.Random, templates: list[str]) -> tuple[str, str, str]:
    name, mood = rng.choice(NAMES), rng.choice(MOODS)
    she = rng.random() < 0.5
    text = rng.choice(templates).format(
        name=name,
        mood=mood,
        thing=rng.choice(THINGS),
        place=rng.choice(PLACES),
        pronoun="she" if she else "he",
        Pronoun="She" if she else "He",
        pronoun2="her" if she else "his",
        other=rng.choice(NAMES),
    )
    return text, name, mood


def row(text: str, name: str, mood: str) -> dict[str, str]:
    return {"instruction": INSTRUCTION, "input": text, "output": json.dumps({"name": name, "mood": mood})}


def main() -> None:
    rng = random.Random(20261124)
    seen: set[str] = set()
    rows = []
    while len(rows) < 680:
        text, name, mood = sentence(rng, TEMPLATES)
        if text not in seen:
            seen.add(text)
            rows.append(row(text, name, mood))
    train, eval_ = rows[:600], rows[600:]
    # Synthetic sets repeat themselves: keep two verbatim repeats so the audit has something to show.
    train += [dict(train[3]), dict(train[10])]
    general = []
    for _ in range(60):
        text, _, _ = sentence(rng, STORY)
        general.append({"text": text})
    for name, data in (("train.jsonl", train), ("eval.jsonl", eval_), ("general.jsonl", general)):
        with open(HERE / name, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in data)


if __name__ == "__main__":
    main()
