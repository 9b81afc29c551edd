"""Everything a suite names is checked at load, before any work, in one line with the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import ConfigError
from harness.suite import load_suite

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "suites" / "demo" / "model"
TRAIN = ROOT / "suites" / "demo" / "train.jsonl"
JUDGE = "judges: [{name: j, backend: openai, model: gpt-4o-mini, rubric: RUBRIC}]\n"


def suite_file(folder: Path, body: str, name: str = "t", *, general: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / "s.yaml"
    data = f"{{train: {TRAIN}, eval: {TRAIN}" + (f", general: {TRAIN}}}" if general else "}")
    p.write_text(f"name: {name}\nbase: {{path: {MODEL}}}\ndata: {data}\n{body}", encoding="utf-8")
    return p


# (suite body, key path, what the line says)
REFUSED = {
    "two trials, one folder": (
        "sweep: {trials: [{name: x/y, r: 4}, {name: x_y, r: 8}]}\n",
        "sweep.trials[1].name", "trials 'x/y' and 'x_y' map to one folder, trials/x_y"),
    "bad json_schema": (
        "score: {metrics: [exact_match, schema], json_schema: {type: 5}}\n",
        "score.json_schema", "not a valid JSON Schema"),
    "unused bad json_schema": (
        "score: {json_schema: {type: [1, 2]}}\n", "score.json_schema", "not a valid JSON Schema"),
    "schema metric without a schema": (
        "score: {metrics: [schema]}\n", "score.json_schema", "the metric 'schema' needs score.json_schema"),
    "bad regex": (
        "score: {metrics: [regex], regex: '(a'}\n", "score.regex", "not a valid regular expression"),
    "bad answer_regex": (
        "score: {answer_regex: '[x'}\n", "score.answer_regex", "not a valid regular expression"),
    "gate on an unknown metric": (
        "gates: ['exct_match >= 0.5']\n", "gates[0]",
        "'exct_match >= 0.5': unknown metric 'exct_match'; did you mean 'exact_match'?"),
    "gate on a metric not selected": (
        "score: {metrics: [exact_match]}\ngates: ['json_valid >= 0.5']\n", "gates[0]",
        "unknown metric 'json_valid'"),
    "gate on the canary without general text": (
        "gates: ['general_perplexity.delta < 30']\n", "gates[0]", "unknown metric 'general_perplexity'"),
    "gate on an unknown model": (
        "sweep: {trials: [{name: a}]}\ngates: ['b:exact_match >= 0.5']\n", "gates[0]",
        "unknown model 'b' (known: base, a)"),
    "gate field without delta": (
        "gates: ['exact_match.ci_low > 0']\n", "gates[0]", "unknown field 'ci_low'"),
    "gate on an unknown delta field": (
        "gates: ['exact_match.delta.ci_lo > 0']\n", "gates[0]", "unknown field 'delta.ci_lo'"),
    "gate on a judge not configured": (
        "gates: ['judge.helpful.win_rate > 0.5']\n", "gates[0]", "unknown judge 'helpful'"),
    "gate on the audit when it is off": (
        "audit: {enabled: false}\ngates: ['audit.leakage == 0']\n", "gates[0]", "the audit is off"),
    "gate on an unknown baseline field": (
        "gates: ['baseline.exact_match.ci > 0']\n", "gates[0]", "unknown baseline field 'ci'"),
    "unreadable gate": ("gates: ['exact_match is good']\n", "gates[0]", "cannot read gate"),
    "gate on an unknown audit check": (
        "gates: ['audit.leakge == 0']\n", "gates[0]",
        "unknown audit check 'leakge'; did you mean 'leakage'?"),
    "gate on an unknown template field": (
        "gates: ['template.parityy == 0']\n", "gates[0]", "unknown template field 'parityy'"),
    "infinite learning rate": (
        "sweep: {defaults: {learning_rate: .inf}}\n", "sweep.defaults.learning_rate",
        "expected a finite number"),
    "nan alpha in the grid": (
        "sweep: {grid: {lora_alpha: [8, .nan]}}\n", "sweep.grid.lora_alpha[1]", "finite number"),
    "primary metric typo": (
        "score: {primary_metric: exact_mach}\n", "score.primary_metric",
        "unknown metric 'exact_mach'; did you mean 'exact_match'?"),
    "select names no trial": (
        "sweep: {trials: [{name: a}]}\nscore: {select: b}\n", "score.select", "unknown model 'b'"),
    "rubric path missing beside the suite": (
        JUDGE.replace("RUBRIC", "mine.yaml"), "judges[0].rubric", "rubric file does not exist"),
    "unknown rubric name": (JUDGE.replace("RUBRIC", "helpfulnes"), "judges[0].rubric", "did you mean"),
    "pairwise judge with a pointwise rubric": (
        JUDGE.replace("RUBRIC", "helpfulness").replace("rubric:", "protocol: pairwise, rubric:"),
        "judges[0].protocol", "is pairwise but rubric"),
    "missing judge key": (
        JUDGE.replace("RUBRIC", "helpfulness"), "judges[0]",
        "the environment variable OPENAI_API_KEY is not set"),
    "lone surrogate in the name": ("", "name", "lone surrogate U+D800"),
}


@pytest.fixture(autouse=True)
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def _write(tmp_path: Path, case: str) -> Path:
    body = REFUSED[case][0]
    return suite_file(tmp_path / "suite", body, name='"\\ud800"' if "surrogate" in case else "t")


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_at_load_naming_the_key(tmp_path: Path, case: str) -> None:
    path = _write(tmp_path, case)
    _, key, says = REFUSED[case]
    with pytest.raises(ConfigError) as err:
        load_suite(path)
    assert str(err.value).startswith(f"{path}: ") and key in str(err.value) and says in str(err.value)


@pytest.mark.parametrize("case", list(REFUSED))
def test_the_cli_refuses_before_any_work_in_one_line(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, case)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and REFUSED[case][2] in lines[0] and "internal error" not in lines[0]
    assert not out.exists()


def test_a_rubric_path_resolves_against_the_suite_not_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = suite_file(tmp_path / "suite", JUDGE.replace("RUBRIC", "mine.yaml"))
    (tmp_path / "suite" / "mine.yaml").write_text((ROOT / "judges" / "helpfulness.yaml").read_text())
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-key")
    monkeypatch.chdir(tmp_path)  # not the suite's folder
    suite = load_suite(path)
    from harness.judge.rubrics import load_rubric

    assert load_rubric(suite.judges[0].rubric).name == "helpfulness"


def test_gates_on_what_the_suite_produces_load(tmp_path: Path) -> None:
    body = ("sweep: {trials: [{name: a}, {name: b}]}\n"
            "score: {metrics: [exact_match, json, perplexity], primary_metric: json_valid, select: b}\n"
            "gates: ['exact_match >= 0.5', 'a:json_valid > 0', 'base:exact_match <= 1',"
            " 'general_perplexity.delta < 30', 'eval_perplexity.delta.ci_high < 1',"
            " 'baseline.exact_match.delta.ci_low > -1', 'baseline.regressed == 0', 'audit.leakage == 0',"
            " 'no error findings', 'template.parity == 0', 'a:template.stop_rate > 0.5',"
            " 'audit.errors == 0', 'audit.exact_duplicates < 5',"
            " 'audit.placeholder_output == 0', 'audit.parity_end_of_turn == 0']\n")
    assert len(load_suite(suite_file(tmp_path, body, general=True)).gates) == 15


def test_an_adapter_given_on_the_command_line_is_a_model_gates_may_name(tmp_path: Path) -> None:
    path = suite_file(tmp_path, "gates: ['mine:exact_match >= 0.5']\n")
    with pytest.raises(ConfigError, match="unknown model 'mine'"):
        load_suite(path)
    assert load_suite(path, adapters=["mine"]).gates == ["mine:exact_match >= 0.5"]
