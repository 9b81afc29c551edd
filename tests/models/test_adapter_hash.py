"""An adapter's hash is its content's: identical weights hash identically whatever order peft wrote the
config's set-valued lists in (it writes sets in PYTHONHASHSEED order), and whichever base path it names."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.models.loading import adapter_hash

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "tests" / "fixtures" / "score" / "adapter_good"


def copy_with(tmp_path: Path, name: str, **config: object) -> Path:
    folder = tmp_path / name
    shutil.copytree(GOOD, folder)
    path = folder / "adapter_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **config}, indent=2))
    return folder


def test_list_order_and_key_order_do_not_change_the_hash(tmp_path: Path) -> None:
    mods = json.loads((GOOD / "adapter_config.json").read_text())["target_modules"]
    a = copy_with(tmp_path, "a", target_modules=sorted(mods))
    b = copy_with(tmp_path, "b", target_modules=sorted(mods, reverse=True))
    raw = json.loads((a / "adapter_config.json").read_text())
    (b / "adapter_config.json").write_text(json.dumps(dict(reversed(list(raw.items())))
                                                      | {"target_modules": sorted(mods, reverse=True)}))
    assert adapter_hash(a) == adapter_hash(b)


def test_the_base_path_recorded_does_not_change_the_hash(tmp_path: Path) -> None:
    a = copy_with(tmp_path, "a", base_model_name_or_path="suites/demo/model")
    b = copy_with(tmp_path, "b", base_model_name_or_path="/somewhere/else/model")
    assert adapter_hash(a) == adapter_hash(b)


def test_what_changes_an_adapter_changes_the_hash(tmp_path: Path) -> None:
    a = copy_with(tmp_path, "a")
    assert adapter_hash(copy_with(tmp_path, "r", r=4)) != adapter_hash(a)
    # Token indices pair with rows of the saved deltas: their order is content, not a set's order.
    ids = json.loads((a / "adapter_config.json").read_text())["trainable_token_indices"]
    assert adapter_hash(copy_with(tmp_path, "t", trainable_token_indices=ids[::-1])) != adapter_hash(a)
    weights = copy_with(tmp_path, "w")
    data = bytearray((weights / "adapter_model.safetensors").read_bytes())
    data[-1] ^= 1
    (weights / "adapter_model.safetensors").write_bytes(bytes(data))
    assert adapter_hash(weights) != adapter_hash(a)


@pytest.mark.slow
def test_peft_saves_of_one_adapter_hash_identically_across_hash_seeds(tmp_path: Path) -> None:
    """Real peft saves under different PYTHONHASHSEEDs write target_modules in different orders."""
    code = (
        "import sys, torch\n"
        "from peft import LoraConfig, get_peft_model\n"
        "from transformers import AutoModelForCausalLM\n"
        "torch.manual_seed(0)\n"
        f"m = AutoModelForCausalLM.from_pretrained({str(ROOT / 'suites' / 'demo' / 'model')!r})\n"
        "cfg = LoraConfig(r=4, lora_alpha=8, target_modules=['q_proj', 'k_proj', 'v_proj', 'o_proj',"
        " 'up_proj', 'down_proj', 'gate_proj'], task_type='CAUSAL_LM')\n"
        "get_peft_model(m, cfg).save_pretrained(sys.argv[1])\n"
    )
    orders, hashes = set(), set()
    for seed in ("1", "2", "3", "4"):
        out = tmp_path / f"seed{seed}"
        subprocess.run([sys.executable, "-c", code, str(out)], check=True, timeout=300,
                       env={"PYTHONHASHSEED": seed, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
                            "PATH": "/usr/bin:/bin"}, capture_output=True)
        orders.add(tuple(json.loads((out / "adapter_config.json").read_text())["target_modules"]))
        hashes.add(adapter_hash(out))
    assert len(orders) > 1  # peft really does write them in set order
    assert len(hashes) == 1
