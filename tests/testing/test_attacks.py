"""The fuzz benchmark's hostile names, paths and aliases: each kind builds what it says, and a sample of
them through the harness's entry points ends in a clean exit or one HarnessError line, within the caps."""

from __future__ import annotations

import os
import random
import stat
from collections import Counter
from pathlib import Path

import pytest

from harness.testing.attacks import ATTACKS, bomb_lines
from harness.yamlsafe import MAX_NODES, load_yaml

ROOT = Path(__file__).resolve().parents[2]


def test_each_kind_builds_its_inputs_in_the_scratch_folder(tmp_path: Path) -> None:
    rng = random.Random(0)
    seen: Counter[str] = Counter()
    for i in range(300):
        kind = list(ATTACKS)[i % 3]
        scratch = tmp_path / f"s{i}"
        scratch.mkdir()
        attack = ATTACKS[kind](rng, scratch, i)
        seen[f"{attack.kind}:{attack.entry}"] += 1
        if attack.entry == "suite":
            assert Path(attack.args[0]).parent == scratch and Path(attack.args[0]).is_file()
    assert set(seen) == {"names:suite", "paths:suite", "paths:cli", "aliases:suite", "aliases:cli"}
    modes = {stat.S_IFMT(os.lstat(p).st_mode) for p in tmp_path.rglob("t*")}
    assert {stat.S_IFIFO, stat.S_IFDIR, stat.S_IFLNK, stat.S_IFREG} <= modes


def test_bombs_expand_as_their_depth_and_width_say() -> None:
    text = "\n".join(bomb_lines(3, 4, False, "")) + "\n"
    assert len(load_yaml(text, path="b.yaml")["b3"]) == 4
    big = "\n".join(bomb_lines(12, 9, True, "")) + "\n"
    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match=f"more than {MAX_NODES}"):
        load_yaml(big, path="b.yaml")


@pytest.mark.slow  # a few hundred inputs, several through the CLI's audit
def test_a_sample_of_the_fuzz_keeps_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    from bench import fuzz

    result = fuzz.run(["--n", "280", "--seed", "7", "--time-s", "20", "--mem-mb", "2048"])
    assert (result["uncaught"], result["over_cap"], result["escaped"]) == (0, 0, 0), result["examples"]
    kinds = {key.split(":")[0] for key in result["outcomes"]}
    assert kinds == {"jsonl", "json", "csv", "suite", "names", "paths", "aliases"}
    assert result["inputs"] == 280
