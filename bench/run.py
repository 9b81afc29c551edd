"""Benchmark entry point: ``python bench/run.py NAME [--json] [args...]``.

Each benchmark is a module ``bench/<NAME>.py`` with ``run(argv: list[str]) -> dict``.
The dict carries at least ``ours_s``, ``anchor_s``, ``ratio`` (anchor / ours,
higher is better) and ``identical``; with ``--json`` the last line printed is
that object, so other tools can parse it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIRED = ("ours_s", "anchor_s", "ratio", "identical")


def available() -> list[str]:
    return sorted(
        p.stem for p in HERE.glob("*.py") if p.stem not in {"run", "__init__"} and not p.stem.startswith("_")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("name", help=f"one of: {', '.join(available())}")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line, last")
    args, rest = parser.parse_known_args(argv)
    if args.name not in available():
        print(f"bench: unknown benchmark {args.name!r}; known: {', '.join(available())}", file=sys.stderr)
        return 2
    sys.path.insert(0, str(HERE.parent))
    module = importlib.import_module(f"bench.{args.name}")
    result = module.run(rest)
    missing = [k for k in REQUIRED if k not in result]
    if missing:
        print(f"bench: {args.name} did not report {missing}", file=sys.stderr)
        return 1
    result = {"name": args.name, **result}
    if args.json:
        print(json.dumps(result, default=float))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
