"""The README's "Your own metric" example, as written, is a metric the suite snippet beside it selects."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from harness import Score
from harness.score.metrics import metric_registry

README = Path(__file__).resolve().parents[3] / "README.md"


@pytest.mark.usefixtures("clean_path")
def test_the_readme_metric_example_is_selected_and_scores(tmp_path: Path) -> None:
    section = README.read_text(encoding="utf-8").split("### Your own metric", 1)[1].split("\n### ", 1)[0]
    (module,) = re.findall(r"```python\n(.*?)```", section, re.S)
    (snippet,) = re.findall(r"```yaml\n(.*?)```", section, re.S)
    assert module.startswith('"""my_metrics.py')
    (tmp_path / "my_metrics.py").write_text(module, encoding="utf-8")
    # Another test module may have registered its own name_correct in this process; clean_path
    # restores the registry after the test, so the README's may take the name here.
    metric_registry()._specs.pop("name_correct", None)
    suite = yaml.safe_load(snippet)
    selector = next(m for m in suite["score"]["metrics"] if ":" in m)
    (spec,) = metric_registry().select(selector, folder=tmp_path)  # found beside the suite
    assert (spec.name, spec.higher_is_better) == ("name_correct", True)
    assert spec.origin == "my_metrics:name_correct"
    assert all(g.split()[0].split(".")[0] == spec.name for g in suite["gates"])  # gated by its name
    assert spec.compute is not None
    reference = json.dumps({"name": "Lily", "mood": "happy"})
    assert spec.compute(output='{"name": "Lily", "mood": "sad"}', reference=reference) == Score(True)
    assert spec.compute(output='{"name": "Tom"}', reference=reference) == Score(False, "expected name 'Lily'")
    assert spec.compute(output="Lily was happy.", reference=reference) == Score(False, "not JSON")
