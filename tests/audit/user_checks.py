"""A team's own audit check, written the way the README shows (the registry tests use it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.audit import Hit, Rows, audit_check


@audit_check("mentions_sql", severity="error", params={"keywords": ["SELECT ", "DROP TABLE"]},
             flagged_as="hold raw SQL")
def mentions_sql(rows: Rows, params: Mapping[str, Any]) -> list[Hit]:
    """Responses that hold raw SQL where the set wants prose."""
    return [Hit(pos, "the response holds SQL", details={"keyword": k})
            for pos, text in enumerate(rows.responses)
            for k in params["keywords"][:1] if any(w in text for w in params["keywords"])]


def not_a_check(rows: Rows, params: Mapping[str, Any]) -> list[Hit]:
    return []


@audit_check("always_fails")
def always_fails(rows: Rows, params: Mapping[str, Any]) -> list[Hit]:
    raise RuntimeError("boom")
