"""Generators of hostile dataset and suite inputs, shared by the property tests and ``bench/run.py fuzz``.

The contract they check: loading any input ends in normalized records or a
:class:`~harness.errors.HarnessError`, never anything else.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

ODD = [
    "\x00",
    "\ud800",
    "\udfff",
    "\u202e",
    "\u200f",
    "\ufeff",
    "\u0301",
    "\U0001f600",
    "\r",
    "\u2028",
    "<|im_start|>",
    "[INST]",
    "\\",
    '"',
    "\n",
]
KEYS = [
    "instruction",
    "input",
    "output",
    "messages",
    "conversations",
    "role",
    "content",
    "from",
    "value",
    "prompt",
    "completion",
    "text",
    "system",
    "name",
    "",
    "0",
]


def _text(rng: random.Random) -> str:
    parts = [
        rng.choice(ODD) if rng.random() < 0.3 else "".join(chr(rng.randint(32, 0x2FF)) for _ in range(3))
        for _ in range(rng.randint(0, 6))
    ]
    return "".join(parts)


def _value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.35:
        return rng.choice([_text(rng), rng.randint(-5, 10**6), rng.random(), True, None, ""])
    if roll < 0.7:
        return {rng.choice(KEYS): _value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]


def _row(rng: random.Random) -> Any:
    kind = rng.randint(0, 5)
    if kind == 0:
        return {"instruction": _value(rng, 2), "input": _value(rng, 3), "output": _value(rng, 2)}
    if kind == 1:
        return {
            "messages": [
                {"role": rng.choice(["user", "assistant", "system", "tool", 3]), "content": _value(rng, 3)}
                for _ in range(rng.randint(0, 4))
            ]
        }
    if kind == 2:
        return {"conversations": [{"from": rng.choice(["human", "gpt", "x"]), "value": _value(rng, 3)}]}
    if kind == 3:
        return {"text": _value(rng, 3)}
    return _value(rng)


def _dump(row: Any) -> str:
    return json.dumps(row, ensure_ascii=bool(random.random() < 0.5))


def jsonl_bytes(rng: random.Random) -> bytes:
    """A JSONL file: mostly rows, some truncated, some binary, some deeply nested or huge."""
    lines: list[bytes] = []
    for _ in range(rng.randint(0, 8)):
        roll = rng.random()
        if roll < 0.6:
            text = _dump(_row(rng))
            lines.append(text.encode("utf-8", "surrogatepass"))
        elif roll < 0.7:
            text = _dump(_row(rng))
            lines.append(text[: rng.randint(0, len(text))].encode("utf-8", "surrogatepass"))
        elif roll < 0.8:
            lines.append(rng.randbytes(rng.randint(0, 40)))
        elif roll < 0.87:
            depth = rng.choice([10, 1000, 100_000])
            lines.append(b"[" * depth + b"]" * depth)
        elif roll < 0.93:
            lines.append(json.dumps({"text": "x" * rng.randint(10_000, 2_000_000)}).encode())
        else:
            lines.append(b"")
    return b"\n".join(lines) + (b"\n" if rng.random() < 0.5 else b"")


def json_bytes(rng: random.Random) -> bytes:
    rows = [_row(rng) for _ in range(rng.randint(0, 5))]
    data: Any = rows if rng.random() < 0.8 else ({"data": rows} if rng.random() < 0.5 else _value(rng))
    text = _dump(data)
    if rng.random() < 0.2:
        text = text[: rng.randint(0, len(text))]
    return text.encode("utf-8", "surrogatepass")


def csv_bytes(rng: random.Random) -> bytes:
    header = ",".join(rng.sample(KEYS, rng.randint(1, 4)))
    body = "\n".join(
        ",".join(_text(rng).replace("\n", " ") for _ in range(rng.randint(0, 5)))
        for _ in range(rng.randint(0, 5))
    )
    return (
        f"{header}\n{body}\n".encode("utf-8", "surrogatepass") if rng.random() < 0.85 else rng.randbytes(50)
    )


def suite_bytes(rng: random.Random) -> bytes:
    """A suite YAML: mostly near-valid structures with wrong types, unknown keys and odd text."""
    doc: Any = {
        "name": _value(rng, 3) if rng.random() < 0.3 else "fuzz",
        "base": {"path": rng.choice(["model", 5, None, _text(rng)]), rng.choice(KEYS): _value(rng, 3)},
        "data": {"train": rng.choice(["t.jsonl", 3, [], _text(rng)]), "eval": "e.jsonl"},
        "sweep": {
            "grid": {
                rng.choice(["r", "lora_alpha", "lr", "sixteen"]): rng.choice(
                    [[4, "x"], "2*r", [], [_value(rng, 3)]]
                )
            }
        },
        "gates": [_value(rng, 3)],
    }
    if rng.random() < 0.3:
        doc = _value(rng)
    import yaml

    text = yaml.safe_dump(doc, allow_unicode=True) if rng.random() < 0.9 else _text(rng)
    if rng.random() < 0.15:
        text = text[: rng.randint(0, len(text))]
    return text.encode("utf-8", "surrogatepass")


GENERATORS: dict[str, tuple[str, Callable[[random.Random], bytes]]] = {
    "jsonl": (".jsonl", jsonl_bytes),
    "json": (".json", json_bytes),
    "csv": (".csv", csv_bytes),
    "suite": (".yaml", suite_bytes),
}
