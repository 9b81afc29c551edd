"""Hostile names, paths and YAML aliases, each built in a scratch folder, for ``bench/run.py fuzz``.

An :class:`Attack` names the harness entry point it goes through (``suite``:
:func:`harness.suite.load_suite` and what a run derives from the suite's names;
``cli``: :func:`harness.cli.main` with an argument list) and what it is made of:

- ``names``: suite, trial and judge names with ``..``, ``/``, ``\\``, NUL, lone
  surrogates (as YAML escapes), control characters, reserved words, very long names,
  pairs that fold onto one folder;
- ``paths``: a suite key or a CLI argument pointing at ``/dev/zero``, ``/dev/urandom``,
  a FIFO, a directory, a sparse giant, a file that is not UTF-8, a link loop, a name
  with NUL, an over-long name, ``/proc`` files; output folders that cannot be made;
- ``aliases``: alias bombs of several depths and widths, as lists or mappings, at
  several positions of a suite (and a judge file), merge keys, recursive aliases,
  deep nesting, over-long integers.

The contract the benchmark checks: every attack ends in a clean exit or a
:class:`~harness.errors.HarnessError` (one line), within the time and memory caps.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "suites" / "demo" / "model"
TINY = ROOT / "tests" / "fixtures" / "tiny"

NAMES = ["..", ".", "../..", "/", "/etc/passwd", "a/../../b", "x\\..\\y", "\0", "a\0b", "\ud800", "\udfff",
         "caf\u00e9", "\U0001f600", "CON", "", " ", "-rf", "~", "$HOME", "%s%n", "{{ 7*7 }}", "<script>",
         "trials", "base", "lora_", "train", "keys", ".hidden", "a\nb", "a\tb", "\u202e", "x" * 300,
         "y" * 5000, "r4-a8-q_proj+v_proj-lr0.01", "A", "a", "x/y", "x_y", "a:b", "judge.x"]
KEYS = ["base.chat_template", "audit.serving_template", "data.train", "data.eval", "data.general",
        "score.mmlu.path", "audit.benchmarks.mmlu", "judges[0].anchors", "judges[0].rubric", "base.path"]


@dataclass(frozen=True)
class Attack:
    """One hostile input: through ``entry`` with ``args`` (a suite path, or the CLI's arguments)."""

    kind: Literal["names", "paths", "aliases"]
    entry: Literal["suite", "cli"]
    args: tuple[str, ...]
    what: str  # a short description, for reports of what failed


def _suite_doc(name: Any = "fuzz") -> dict[str, Any]:
    return {"name": name, "base": {"path": str(MODEL)},
            "data": {"train": str(TINY / "train.jsonl"), "eval": str(TINY / "eval.jsonl")},
            "sweep": {"trials": [{"name": "a"}]}, "score": {"metrics": ["exact_match"]}, "gates": []}


def _write_suite(scratch: Path, doc: dict[str, Any] | str, n: int) -> str:
    path = scratch / f"suite{n}.yaml"
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc, allow_unicode=False)
    path.write_text(text, encoding="utf-8")
    return str(path)


def names(rng: random.Random, scratch: Path, n: int) -> Attack:
    doc = _suite_doc(rng.choice(NAMES) if rng.random() < 0.5 else "fuzz")
    trials = [{"name": rng.choice(NAMES), "r": rng.choice([4, 8])} for _ in range(rng.randint(1, 3))]
    doc["sweep"] = {"trials": trials}
    if rng.random() < 0.3:
        doc["judges"] = [{"name": rng.choice(NAMES), "backend": "openai", "model": "m",
                          "rubric": "helpfulness", "base_url": "http://127.0.0.1:9"}]
    if rng.random() < 0.3:
        doc["gates"] = [f"{rng.choice(NAMES)}:exact_match >= 0"]
    what = f"names {doc['name']!r} / {[t['name'] for t in trials]!r}"[:200]
    return Attack("names", "suite", (_write_suite(scratch, doc, n),), what)


def _target(rng: random.Random, scratch: Path, n: int) -> tuple[str, str]:
    """(path, what it is): something no reader should read, or a name no file system holds."""
    kind = rng.choice(["zero", "urandom", "null", "fifo", "dir", "sparse", "latin1", "loop", "dangling",
                       "nul", "long", "proc_mem", "proc_status", "self_dir", "huge_line"])
    base = scratch / f"t{n}"
    if kind == "fifo":
        os.mkfifo(base)
    elif kind == "dir":
        base.mkdir()
    elif kind == "sparse":
        with open(base, "wb") as fh:
            fh.truncate(rng.choice([5 << 20, 300 << 20, 100 << 30]))
    elif kind == "latin1":
        base.write_bytes(b"caf\xe9 {{ x }}\n\xff\xfe")
    elif kind == "loop":
        os.symlink(base, base)
    elif kind == "dangling":
        os.symlink(scratch / "nowhere", base)
    elif kind == "huge_line":
        long = b"x" * rng.choice([1 << 20, 50 << 20])
        base.write_bytes(b'{"instruction": "' + long + b'", "output": "y"}\n')
    fixed = {"zero": "/dev/zero", "urandom": "/dev/urandom", "null": "/dev/null", "nul": f"{base}\0x",
             "long": str(scratch / ("n" * rng.choice([300, 5000]))), "proc_mem": "/proc/self/mem",
             "proc_status": "/proc/self/status", "self_dir": str(scratch)}
    return fixed.get(kind, str(base)), kind


def paths(rng: random.Random, scratch: Path, n: int) -> Attack:
    target, kind = _target(rng, scratch, n)
    roll = rng.random()
    if roll < 0.55:
        doc = _suite_doc()
        key = rng.choice(KEYS)
        _set(doc, key, target)
        return Attack("paths", "suite", (_write_suite(scratch, doc, n),), f"{key} -> {kind}")
    if roll < 0.7:  # a results folder whose results.json (or items.jsonl, or lockfile) is the target
        run = scratch / f"run{n}"
        run.mkdir()
        name = rng.choice(["results.json", "items.jsonl", "../baseline.lock.json"])
        _place(run / name, target, rng)
        if name != "results.json":
            (run / "results.json").write_text('{"suite": "s", "version": 2}')
        argv = rng.choice([["report", str(run)], ["baseline", "compare", str(run)],
                           ["baseline", "accept", str(run), "--to", str(scratch / "lock.json")]])
        return Attack("paths", "cli", tuple(argv), f"{argv[0]} with {name} -> {kind}")
    out = str(scratch / f"out{n}")
    good = str(TINY / "train.jsonl")
    argv = rng.choice([
        ["audit", target, "--out", out], ["audit", good, "--eval", target, "--out", out],
        ["audit", good, "--benchmark", f"mmlu={target}", "--out", out],
        ["audit", good, "--review-judge", target, "--out", out], ["report", target],
        ["baseline", "compare", target], ["sweep", target], ["eval", target],
        ["audit", good, "--out", f"{target}/sub"], ["audit", good, "--out", target],
    ])
    quiet = ["--quiet"] if argv[0] in {"audit", "sweep", "eval"} else []
    return Attack("paths", "cli", (*argv, *quiet), f"{argv[0]} {kind}")


def _place(path: Path, target: str, rng: random.Random) -> None:
    """``path`` as the target: a link to it, or (for a plain file) hostile JSON in its place."""
    if rng.random() < 0.3:
        deep = rng.choice([100, 5000, 200_000])
        path.write_text("[" * deep + "]" * deep if rng.random() < 0.5 else '{"suite": ' * deep)
    else:
        try:
            os.symlink(target, path)
        except (OSError, ValueError):  # an over-long or NUL target: the name itself is the attack
            path.write_text("{}")


def _set(doc: dict[str, Any], key: str, value: Any) -> None:
    """``doc`` at a key path such as ``judges[0].anchors`` (made as needed)."""
    if key.startswith("judges[0]."):
        doc["judges"] = [{"name": "j", "backend": "openai", "model": "m", "rubric": "helpfulness",
                          "base_url": "http://127.0.0.1:9", key.removeprefix("judges[0]."): value}]
        return
    *heads, last = key.split(".")
    node = doc
    for head in heads:
        node = node.setdefault(head, {})
    node[last] = value


def bomb_lines(depth: int, width: int, mapping: bool, indent: str) -> list[str]:
    """Anchors ``b0`` .. ``b<depth>``, each ``width`` copies of the one before."""
    if mapping:
        lines = ["b0: &b0 {k0: lol, k1: lol}"]
        lines += [f"b{i}: &b{i} {{" + ", ".join(f"k{j}: *b{i - 1}" for j in range(width)) + "}"
                  for i in range(1, depth + 1)]
    else:
        lines = ["b0: &b0 [lol, lol]"]
        lines += [f"b{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * width) + "]" for i in range(1, depth + 1)]
    return [indent + line for line in lines]


POSITIONS = ["name", "json_schema", "gates", "trials", "grid", "judge", "merge", "top"]


def aliases(rng: random.Random, scratch: Path, n: int) -> Attack:
    depth, width = rng.randint(1, 14), rng.randint(2, 9)
    where = rng.choice([*POSITIONS, "recursive", "nested", "long_int", "judge_file"])
    mapping = where == "merge" or rng.random() < 0.3
    defs = "\n".join(bomb_lines(depth, width, mapping, "      "))
    last = f"*b{depth}"
    head = f"score:\n  metrics: [exact_match]\n  json_schema:\n    x-defs:\n{defs}\n"
    data = f"{{train: {TINY / 'train.jsonl'}, eval: {TINY / 'eval.jsonl'}}}"
    tail = f"base: {{path: {MODEL}}}\ndata: {data}\n"
    deep = rng.choice([50, 400, 3000])
    body = {
        "name": f"name: {last}\n", "json_schema": "name: ok\n",
        "gates": f"name: ok\ngates: {last}\n", "trials": f"name: ok\nsweep: {{trials: {last}}}\n",
        "grid": f"name: ok\nsweep: {{grid: {{r: {last}}}}}\n",
        "judge": f"name: ok\njudges: [{{name: j, backend: openai, model: {last}, rubric: helpfulness}}]\n",
        "merge": f"name: ok\nsweep: {{defaults: {{<<: {last}}}}}\n", "top": f"name: ok\nx: {last}\n",
        "recursive": "name: ok\nsweep: &r {defaults: *r}\n",
        "long_int": f"name: ok\nsweep: {{seed: {'9' * 6000}}}\n",
        "nested": "name: ok\nsweep: " + "[" * deep + "]" * rng.choice([0, deep]) + "\n",
    }
    if where == "judge_file":
        judge = scratch / f"judge{n}.yaml"
        lines = [*bomb_lines(depth, width, mapping, ""), f"name: {last}", "backend: openai"]
        judge.write_text("\n".join(lines) + "\n")
        argv = ("audit", str(TINY / "train.jsonl"), "--review-judge", str(judge), "--out", str(scratch / "o"),
                "--quiet")
        return Attack("aliases", "cli", argv, f"judge file, depth {depth} width {width}")
    text = head + body[where] + tail
    return Attack("aliases", "suite", (_write_suite(scratch, text, n),),
                  f"{where}, depth {depth} width {width}{' mapping' if mapping else ''}")


ATTACKS: dict[str, Callable[[random.Random, Path, int], Attack]] = {
    "names": names, "paths": paths, "aliases": aliases}

__all__ = ["ATTACKS", "Attack", "aliases", "bomb_lines", "names", "paths"]
