"""The per-row check registry: built-ins, a user's check by module:function and by entry point, params."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
import yaml

from harness.audit import AuditCheckError, AuditParams, Hit, Rows, audit_check, register, run_audit
from harness.audit.checks import ENTRY_POINT_GROUP, REGISTRY, builtin_checks, resolve, unregister, validate
from harness.errors import ConfigError, HarnessError
from harness.plugins import EntryPointGroup
from harness.suite import load_suite
from tests.audit import user_checks

ROOT = Path(__file__).resolve().parents[2]
SQL = "SELECT name FROM users WHERE id = 1;"


def test_builtins_register_like_a_users_check_and_run_in_order() -> None:
    names = [c.name for c in builtin_checks()]
    assert names[:4] == ["empty_target", "short_target", "length_outlier", "format_outlier"]
    assert {"placeholder_output", "repetition", "cut_off_response", "mojibake"} <= set(names)
    assert resolve("repetition").origin == "harness.audit.defects.repetition:repetition"
    assert {c.name for c in builtin_checks() if c.drops} == {"empty_target", "placeholder_output"}


def test_a_users_check_by_module_function(alpaca_pairs: list[tuple[str, str]], records_of: Callable) -> None:
    pairs = list(alpaca_pairs[:30])
    pairs[3] = (pairs[3][0], SQL)
    params = AuditParams(workers=1, checks=("tests.audit.user_checks:mentions_sql",))
    result = run_audit(records_of(pairs), params=params, progress=False)
    (found,) = [f for f in result.findings if f.check == "mentions_sql"]
    assert found.severity == "error" and found.refs[0].index == 3 and found.details["field"] == "response"
    run = next(c for c in result.checks if c.check == "mentions_sql")
    assert run.params["keywords"] == ["SELECT ", "DROP TABLE"] and run.findings == 1
    assert result.has_errors
    quiet = run_audit(records_of(pairs), progress=False, params=AuditParams(
        workers=1, checks=("tests.audit.user_checks:mentions_sql",),
        check_params={"mentions_sql": {"keywords": ["MERGE INTO"]}}))
    assert not [f for f in quiet.findings if f.check == "mentions_sql"]


def test_the_decorator_returns_the_function_unchanged() -> None:
    rows = Rows("train", [])
    assert user_checks.mentions_sql(rows, {"keywords": ["x"]}) == []
    assert resolve("mentions_sql").fn is user_checks.mentions_sql  # registered on import, by name


def test_unknown_names_and_parameters_fail_with_did_you_mean() -> None:
    with pytest.raises(AuditCheckError, match="did you mean 'repetition'"):
        resolve("repetiton")
    with pytest.raises(AuditCheckError, match=r"has no attribute 'mention_sql'.*did you mean"):
        resolve("tests.audit.user_checks:mention_sql")
    with pytest.raises(AuditCheckError, match="not an audit check"):
        resolve("tests.audit.user_checks:not_a_check")
    with pytest.raises(AuditCheckError, match="cannot import"):
        resolve("no_such_pkg.checks:x")
    with pytest.raises(AuditCheckError, match=r"min_wrds.*did you mean 'min_words'"):
        validate([], {"repetition": {"min_wrds": 3}})
    with pytest.raises(AuditCheckError, match="expected int"):
        validate([], {"repetition": {"min_words": "many"}})


def test_a_taken_name_is_refused() -> None:
    def other(rows: Rows, params: dict) -> list[Hit]:
        return []

    with pytest.raises(AuditCheckError, match="already registered"):
        audit_check("repetition")(other)
    register(other, name="other_check")
    assert resolve("other_check").fn is other
    unregister("other_check")
    with pytest.raises(AuditCheckError):
        unregister("repetition")


def test_a_users_check_by_entry_point(monkeypatch: pytest.MonkeyPatch, alpaca_pairs: list[tuple[str, str]],
                                      records_of: Callable) -> None:
    ep = EntryPoint(name="sql_in_target", value="tests.audit.user_checks:mentions_sql",
                    group=ENTRY_POINT_GROUP)
    monkeypatch.setattr("importlib.metadata.entry_points",
                        lambda group=None: [ep] if group == ENTRY_POINT_GROUP else [])
    monkeypatch.setattr(REGISTRY, "entry_points", EntryPointGroup(ENTRY_POINT_GROUP))  # read afresh
    pairs = list(alpaca_pairs[:12])
    pairs[5] = (pairs[5][0], SQL)
    result = run_audit(records_of(pairs), params=AuditParams(workers=1, checks=("sql_in_target",)),
                       progress=False)
    assert [f.refs[0].index for f in result.findings if f.check == "sql_in_target"] == [5]
    unregister("sql_in_target")


def test_a_failing_check_is_one_error_naming_it(alpaca_pairs: list[tuple[str, str]],
                                                records_of: Callable) -> None:
    with pytest.raises(HarnessError, match="audit check 'always_fails' failed on the train split: Runtime"):
        run_audit(records_of(alpaca_pairs[:12]), params=AuditParams(workers=1, checks=("always_fails",)),
                  progress=False)


def _suite(tmp_path: Path, audit: dict) -> Path:
    demo = yaml.safe_load((ROOT / "suites" / "demo.yaml").read_text())
    for key in ("train", "eval", "general"):
        if demo["data"].get(key):
            demo["data"][key] = str((ROOT / "suites" / demo["data"][key]).resolve())
    demo["base"]["path"] = str((ROOT / "suites" / demo["base"]["path"]).resolve())
    demo["audit"] = audit  # no benchmarks: the suite needs no paths beyond data and base
    demo.get("score", {}).pop("mmlu", None)
    demo["score"]["metrics"] = ["exact_match"]
    demo["gates"] = []
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(demo))
    return path


def test_a_suite_names_a_check_in_a_module_beside_it(tmp_path: Path) -> None:
    (tmp_path / "team_checks.py").write_text(
        "from harness.audit import Hit, audit_check\n\n"
        "@audit_check('no_todo')\n"
        "def no_todo(rows, params):\n"
        "    return [Hit(p, 'TODO left in') for p, t in enumerate(rows.responses) if 'TODO' in t]\n")
    suite = load_suite(_suite(tmp_path, {"checks": ["team_checks:no_todo"],
                                         "check_params": {"repetition": {"min_words": 80}}}))
    assert suite.audit.checks == ["team_checks:no_todo"]
    with pytest.raises(ConfigError, match=r"audit\.checks\[0\]: unknown audit check 'no_tod'"):
        load_suite(_suite(tmp_path, {"checks": ["no_tod"]}))
    with pytest.raises(ConfigError, match=r"audit\.check_params\.repetition\.min_wrds"):
        load_suite(_suite(tmp_path, {"check_params": {"repetition": {"min_wrds": 80}}}))


def test_cli_runs_a_users_check_and_unknown_ones_are_one_line(tmp_path: Path) -> None:
    rows = [{"instruction": f"Describe item {i}", "input": "", "output": f"Item {i} is a thing we sell."}
            for i in range(12)] + [{"instruction": "Query the users", "input": "", "output": SQL}]
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    base = [sys.executable, "-m", "harness.cli", "audit", str(train), "--quiet", "--out", str(out)]
    env = {"PYTHONPATH": f"{ROOT}", "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    ok = subprocess.run([*base, "--check", "tests.audit.user_checks:mentions_sql"], capture_output=True,
                        text=True, cwd=ROOT, env=env, timeout=300)
    audit = json.loads((tmp_path / "out" / "audit.json").read_text())
    assert ok.returncode == 1 and [f["refs"][0]["index"] for f in audit["findings"]
                                   if f["check"] == "mentions_sql"] == [12]
    bad = subprocess.run([*base, "--check", "mentions_sqll"], capture_output=True, text=True, cwd=ROOT,
                         env=env, timeout=300)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "unknown audit check 'mentions_sqll'" in bad.stderr
