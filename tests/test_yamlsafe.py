"""YAML alias bombs, recursive aliases, deep nesting and odd scalars: refused in one line, in bounded time
and memory (the CLI runs under a memory and time cap, so a regression fails here, not the machine)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.testing.capped import GiB, harness_command, run_capped
from harness.yamlsafe import MAX_NODES, load_yaml

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "suites" / "demo" / "model"
TRAIN = ROOT / "tests" / "fixtures" / "tiny" / "train.jsonl"


def bomb(levels: int = 9, *, mapping: bool = False) -> str:
    """The billion laughs: ``m{levels}`` expands to 9**levels values."""
    if mapping:
        lines = ["m0: &m0 {k0: lol, k1: lol, k2: lol}"]
        lines += [f"m{i}: &m{i} {{" + ", ".join(f"k{j}: *m{i - 1}" for j in range(9)) + "}"
                  for i in range(1, levels + 1)]
    else:
        lines = ["m0: &m0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        lines += [f"m{i}: &m{i} [" + ", ".join([f"*m{i - 1}"] * 9) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def suite_with(tmp_path: Path, name: str) -> Path:
    """A valid suite but for what the bomb does: its anchors live in ``score.json_schema`` (a mapping
    of anything, as JSON Schema allows unknown keywords), and ``name`` may point at the biggest."""
    path = tmp_path / "suite.yaml"
    body = "".join(f"      {line}\n" for line in bomb().splitlines())
    path.write_text(f"score:\n  metrics: [exact_match]\n  json_schema:\n    x-defs:\n{body}"
                    f"name: {name}\nbase: {{path: {MODEL}}}\ndata: {{train: {TRAIN}, eval: {TRAIN}}}\n")
    return path


@pytest.mark.parametrize("name", ["*m9", "ok"])
def test_an_alias_bomb_is_refused_in_one_line_within_the_caps(tmp_path: Path, name: str) -> None:
    """As `name` (a string field: its error message would print the whole expansion) or only inside
    json_schema (which loads, trains, then expands when the schema is checked)."""
    suite = suite_with(tmp_path, name)
    start = time.perf_counter()
    ran = run_capped(harness_command("sweep", suite, "--out", tmp_path / "out"), mem_bytes=3 * GiB,
                     timeout_s=60)
    assert not ran.timed_out, ran.stderr[-2000:]
    assert ran.returncode == 2, ran.stderr[-2000:]
    assert len(ran.lines) == 1 and "internal error" not in ran.stderr, ran.stderr[-2000:]
    said = f"harness: error: {suite}: score.json_schema.x-defs.m5[1]: YAML aliases expand to more than "
    assert ran.lines[0].startswith(said + f"{MAX_NODES} values (line 9)"), ran.lines[0]
    assert time.perf_counter() - start < 30
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("levels", [3, 6, 12, 40])
def test_bombs_at_every_depth_cost_linear_time(levels: int) -> None:
    text = bomb(levels)
    start = time.perf_counter()
    if 9**levels < MAX_NODES // 2:
        assert len(load_yaml(text, path="b.yaml")[f"m{levels}"]) == 9
    else:
        with pytest.raises(ConfigError, match="aliases expand"):
            load_yaml(text, path="b.yaml")
    assert time.perf_counter() - start < 2


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"b\.yaml: a recursive YAML alias \(line 1\)"):
        load_yaml("a: &a [1, *a]\n", path="b.yaml")
    with pytest.raises(ConfigError, match="recursive YAML alias"):
        load_yaml("a: &a {b: *a}\n", path="b.yaml")


def test_merge_keys_count_as_expansions() -> None:
    text = bomb(4, mapping=True) + "big: {<<: *m4}\n"
    assert len(load_yaml(text, path="b.yaml")["big"]) == 9
    with pytest.raises(ConfigError, match="aliases expand"):
        load_yaml(bomb(7, mapping=True) + "big: {<<: *m7}\n", path="b.yaml")


@pytest.mark.parametrize(("text", "says"), [
    ("[" * 5000 + "]" * 5000, "nested too deeply"),
    ("a: " + "9" * 5000 + "\n", "not valid YAML"),
    ('a: "\\ud800"\n', "a: holds a lone surrogate U+D800"),
    ('- {"\\udfff": 1}\n', "b.yaml: [0].\\udfff: holds a lone surrogate U+DFFF"),
    ("a: !!python/object:os.system echo\n", "not valid YAML"),
    ("a: [1\n", "not valid YAML"),
])
def test_odd_documents_are_config_errors(text: str, says: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)):
        load_yaml(text, path="b.yaml")


def test_ordinary_documents_are_unchanged() -> None:
    text = "base: &b {r: 4, lora_alpha: 8}\ntrials: [{<<: *b, name: a}, {<<: *b, name: b, r: 8}]\nx: null\n"
    import yaml

    assert load_yaml(text, path="s.yaml") == yaml.safe_load(text)
    assert load_yaml("", path="s.yaml") is None
