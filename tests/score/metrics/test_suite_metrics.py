"""``score.metrics`` in a suite file: selectors, users' ``module:function`` and entry-point metrics are
resolved at suite load; a bad entry is one line naming ``score.metrics[i]``, exit 2, before any work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from score_support import write_suite

from harness.errors import ConfigError
from harness.score.plan import make_plan
from harness.suite import load_suite


def _suite(folder: Path, metrics: list[str]) -> Path:
    return write_suite(folder, metrics=metrics)


@pytest.mark.usefixtures("clean_path")
def test_the_plan_holds_what_each_selector_yields(tmp_path: Path) -> None:
    suite = load_suite(_suite(tmp_path, ["json", "perplexity", "user_metrics:name_correct", "mmlu", "json"]))
    plan = make_plan(suite)
    assert [m.name for m in plan.metrics] == [
        "json_valid", "eval_perplexity", "general_perplexity", "name_correct", "mmlu", "mmlu/<subject>"]
    assert [m.name for m in plan.output_metrics] == ["json_valid", "name_correct"]
    assert plan.perplexity and plan.mmlu_items and plan.generation


@pytest.mark.usefixtures("clean_path")
def test_an_entry_point_metric_is_selected_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "site"
    (pkg / "acme_metrics-2.0.dist-info").mkdir(parents=True)
    (pkg / "acme_metrics-2.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-metrics\n"
                                                                 "Version: 2.0\n")
    (pkg / "acme_metrics-2.0.dist-info" / "entry_points.txt").write_text(
        "[harness.metrics]\nacme_polite = acme_metrics:polite\n")
    (pkg / "acme_metrics.py").write_text(
        "from harness import metric\n\n\n@metric(name='acme_polite')\n"
        "def polite(output: str) -> bool:\n    return 'please' in output\n")
    monkeypatch.syspath_prepend(str(pkg))
    plan = make_plan(load_suite(_suite(tmp_path, ["exact_match", "acme_polite"])))
    assert [(m.name, m.origin) for m in plan.output_metrics] == [
        ("exact_match", "harness.score.metrics.builtin:exact_match"), ("acme_polite", "acme_metrics:polite")]
    with pytest.raises(ConfigError, match=r"score\.metrics\[1\]: unknown metric 'acme_polit'; did you mean "
                                          r"'acme_polite'\?"):
        load_suite(_suite(tmp_path, ["exact_match", "acme_polit"]))


@pytest.mark.usefixtures("clean_path")
@pytest.mark.parametrize(("entry", "message"), [
    ("exct_match", "unknown metric 'exct_match'; did you mean 'exact_match'? Available: exact_match, f1,"),
    ("nosuch_pkg.metrics:sql_executes",
     "'nosuch_pkg.metrics:sql_executes': cannot import 'nosuch_pkg.metrics': "
     "ModuleNotFoundError: No module named 'nosuch_pkg'"),
    ("team_metrics:helper", "'team_metrics:helper' is not a metric (a function; decorate"),
    ("team_metrics:broken", "cannot import 'team_metrics': TypeError: metric 'broken': parameter 'row'"),
])
def test_a_bad_metric_entry_exits_2_with_one_line(tmp_path: Path, entry: str, message: str) -> None:
    team = "def helper(output: str) -> bool:\n    return True\n"
    if entry.endswith("broken"):
        team += ("\nfrom harness import metric\n\n\n@metric\n"
                 "def broken(output: str, row: dict) -> bool:\n    return True\n")
    (tmp_path / "team_metrics.py").write_text(team)
    suite = _suite(tmp_path, ["exact_match", entry])
    with pytest.raises(ConfigError) as err:
        load_suite(suite)
    assert str(err.value).startswith(f"{suite}: score.metrics[1]: ") and message in str(err.value)
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", str(suite)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"harness: error: {suite}: score.metrics[1]: ") and message in lines[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "reports").exists()  # nothing written: it failed before any work


def test_a_yaml_list_of_metrics_keeps_its_order_and_contract(tmp_path: Path) -> None:
    path = _suite(tmp_path, ["exact_match", "json", "perplexity"])
    suite = load_suite(path)
    assert suite.score.metrics == yaml.safe_load(path.read_text())["score"]["metrics"]
