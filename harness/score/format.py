"""Format compliance of generated text: JSON object with keys, JSON Schema, regex; each with a reason.

* ``json_valid``: the output, stripped of surrounding whitespace, parses as JSON
  (``json.loads``, strict: no trailing text, no code fences) **and** is an
  object **and** holds *at least* every key in ``score.json_keys`` (extra keys
  are allowed). A bare number, string or array is not compliant.
* ``schema_valid``: the stripped output parses as JSON and validates against
  ``score.json_schema`` (jsonschema, the draft the schema names, else the latest).
* ``regex_match``: ``re.fullmatch(score.regex, output.strip())`` (DOTALL).

Every check returns ``(passed, reason)``; the reason is ``""`` when it passed
and a short sentence naming what failed otherwise (written into ``items.jsonl``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from harness.errors import ConfigError

Check = tuple[bool, str]


def _parse(output: str) -> tuple[Any, str]:
    text = output.strip()
    if not text:
        return None, "empty output"
    try:
        return json.loads(text), ""
    except json.JSONDecodeError as exc:
        return None, f"not JSON: {exc.msg} at char {exc.pos}"


def json_object_check(output: str, keys: Sequence[str]) -> Check:
    value, error = _parse(output)
    if error:
        return False, error
    if not isinstance(value, dict):
        return False, f"JSON {type(value).__name__}, not an object"
    missing = [k for k in keys if k not in value]
    if missing:
        return False, f"missing keys: {', '.join(missing)}"
    return True, ""


@dataclass(frozen=True)
class FormatChecks:
    """The suite's format settings, compiled once."""

    json_keys: tuple[str, ...] = ()
    json_schema: dict[str, Any] | None = field(default=None, hash=False)
    regex: str | None = None

    @cached_property
    def _validator(self) -> Any:
        import jsonschema

        if self.json_schema is None:
            raise ConfigError("the metric 'schema' needs score.json_schema", key="score.json_schema")
        cls = jsonschema.validators.validator_for(self.json_schema)
        try:
            cls.check_schema(self.json_schema)
        except jsonschema.SchemaError as exc:
            raise ConfigError(f"not a valid JSON Schema: {exc.message}", key="score.json_schema") from None
        return cls(self.json_schema)

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        if self.regex is None:
            raise ConfigError("the metric 'regex' needs score.regex", key="score.regex")
        try:
            return re.compile(self.regex, re.DOTALL)
        except re.error as exc:
            raise ConfigError(f"not a valid regular expression: {exc}", key="score.regex") from None

    def validate_config(self, metrics: Sequence[str]) -> None:
        """Fail before any model work when a selected format metric lacks its setting."""
        if "schema" in metrics:
            _ = self._validator
        if "regex" in metrics:
            _ = self._pattern

    def json_valid(self, output: str) -> Check:
        return json_object_check(output, self.json_keys)

    def schema_valid(self, output: str) -> Check:
        value, error = _parse(output)
        if error:
            return False, error
        errors = sorted(self._validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if not errors:
            return True, ""
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(root)"
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        return False, f"schema: at {where}: {first.message}{more}"

    def regex_match(self, output: str) -> Check:
        if self._pattern.fullmatch(output.strip()):
            return True, ""
        return False, f"does not match /{self.regex}/"


__all__ = ["FormatChecks", "json_object_check"]
