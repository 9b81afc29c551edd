"""Any model name can be scored: peft adapter names are derived from it, results keep the name itself."""

from __future__ import annotations

from typing import Any

import pytest
from score_support import ADAPTERS, write_suite

from harness.score import evaluate
from harness.suite import load_suite

pytestmark = pytest.mark.slow

# A grid trial's default label (peft refuses "." in adapter names), names of torch Module
# attributes (a ModuleDict refuses them as keys), a path-like name and a prefix peft reserves.
NAMES = ["r4-a8-q_proj+v_proj-lr0.01", "train", "keys", "x/y", "lora_"]


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("names")
    suite = load_suite(write_suite(folder, metrics=["perplexity"], bootstrap=100))
    adapters = {name: ADAPTERS["good" if i % 2 == 0 else "partial"] for i, name in enumerate(NAMES)}
    return evaluate(suite, adapters, progress=False)


def test_every_name_is_scored_under_its_own_name(scored: Any) -> None:
    assert list(scored.models) == ["base", *NAMES]
    assert {i.model for i in scored.items} == {"base", *NAMES}
    assert {c.candidate for c in scored.comparisons} == set(NAMES)


def test_each_name_got_its_own_adapter(scored: Any) -> None:
    ppl = {name: scored.models[name]["eval_perplexity"] for name in scored.models}
    good, partial = ppl[NAMES[0]], ppl[NAMES[1]]
    assert good != partial and good != ppl["base"]
    assert [ppl[n] for n in NAMES] == [good, partial, good, partial, good]

