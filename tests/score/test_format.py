from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.score.format import FormatChecks

SCHEMA = {"type": "object", "required": ["name", "mood"],
          "properties": {"name": {"type": "string"}, "mood": {"enum": ["happy", "sad"]}}}


@pytest.mark.parametrize(("output", "ok", "reason"), [
    ('{"name": "Leo", "mood": "sad"}', True, ""),
    ('  {"name": "Leo", "mood": "sad", "extra": 1}\n', True, ""),  # at least the keys; extras allowed
    ("42", False, "JSON int, not an object"),
    ('["name", "mood"]', False, "JSON list, not an object"),
    ('"name"', False, "JSON str, not an object"),
    ('{"name": "Leo"}', False, "missing keys: mood"),
    ('{"name": "Leo", "mood": "sad"} trailing', False, "not JSON: Extra data"),
    ("```json\n{}\n```", False, "not JSON: Expecting value"),
    ("", False, "empty output"),
])
def test_json_valid_needs_an_object_with_the_keys(output: str, ok: bool, reason: str) -> None:
    passed, why = FormatChecks(json_keys=("name", "mood")).json_valid(output)
    assert passed is ok
    assert why.startswith(reason) if reason else why == ""


def test_schema_reasons_name_the_failing_path() -> None:
    checks = FormatChecks(json_schema=SCHEMA)
    assert checks.schema_valid('{"name": "Leo", "mood": "sad"}') == (True, "")
    ok, why = checks.schema_valid('{"name": "Leo", "mood": "grumpy"}')
    assert not ok and why.startswith("schema: at mood:") and "grumpy" in why
    ok, why = checks.schema_valid('{"name": 3}')
    assert not ok and "(+1 more)" in why  # name has the wrong type and mood is missing
    assert checks.schema_valid("nope")[1].startswith("not JSON")


def test_regex_is_a_full_match_on_the_stripped_output() -> None:
    checks = FormatChecks(regex=r"\{.*\}")
    assert checks.regex_match(' {"a": 1}\n') == (True, "")
    ok, why = checks.regex_match('x {"a": 1}')
    assert not ok and why == r"does not match /\{.*\}/"


def test_format_metrics_without_their_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"score\.json_schema"):
        FormatChecks().validate_config(["schema"])
    with pytest.raises(ConfigError, match=r"score\.regex"):
        FormatChecks().validate_config(["regex"])
    with pytest.raises(ConfigError, match="not a valid JSON Schema"):
        FormatChecks(json_schema={"type": 12}).validate_config(["schema"])
    with pytest.raises(ConfigError, match="regular expression"):
        FormatChecks(regex="(").validate_config(["regex"])
    FormatChecks().validate_config(["json", "exact_match"])  # nothing else is required
