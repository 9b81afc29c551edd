"""Shared by the clean tests: real Alpaca rows with planted defects, written in every format and layout."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audit"
# Planted into train (record numbers): what each is, and what the clean must drop it for.
PLANTED = {80: ("exact_duplicates", 3), 81: ("near_duplicates", 7), 82: ("empty_target", None),
           83: ("placeholder_output", None), 84: ("leakage", 2)}


def real_rows() -> list[dict[str, str]]:
    rows = json.loads((FIXTURES / "alpaca_en_demo_200.json").read_text(encoding="utf-8"))
    return [{"instruction": r["instruction"], "input": r["input"], "output": r["output"]} for r in rows]


def planted_sets() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """80 clean real train rows + 5 planted (``PLANTED``), and 20 real eval rows."""
    rows = real_rows()
    train, evals = rows[:80], rows[100:120]
    near = dict(train[7])
    words = near["output"].split(" ")
    words[len(words) // 2] = "remarkably"
    near["output"] = " ".join(words)
    train += [dict(train[3]), near, {**rows[150], "output": "  "}, {**rows[151], "output": "<nooutput>"},
              dict(evals[2])]
    return train, evals


def layout(row: dict[str, str], kind: str) -> dict[str, Any]:
    user = row["instruction"] + ("\n\n" + row["input"] if row["input"].strip() else "")
    if kind == "messages":
        return {"messages": [{"role": "user", "content": user},
                             {"role": "assistant", "content": row["output"]}]}
    if kind == "conversations":
        return {"id": "x", "conversations": [{"from": "human", "value": user},
                                             {"from": "gpt", "value": row["output"]}]}
    return row


def write(rows: list[dict[str, str]], path: Path, kind: str = "alpaca") -> Path:
    data = [layout(r, kind) for r in rows]
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in data), encoding="utf-8")
    elif path.suffix == ".json":
        path.write_text(json.dumps(data, indent=4, ensure_ascii=False) + "\n", encoding="utf-8")
    elif path.suffix == ".csv":
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(data[0]))
            writer.writeheader()
            writer.writerows(data)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(data), path)
    return path
