"""audit.json round-trips; audit.html lists every finding with its rows side by side, escaped."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from harness.audit import AuditParams, run_audit, write_audit
from harness.results import load_audit


def test_json_and_html_written(tmp_path: Path, alpaca_pairs: list[tuple[str, str]], records_of: Callable,
                               params: AuditParams) -> None:
    pairs = list(alpaca_pairs[:20])
    pairs.append(("<script>alert('x')</script> " + pairs[0][0], pairs[0][1]))
    pairs.append(("<script>alert('x')</script> " + pairs[0][0], pairs[0][1]))
    pairs.append((pairs[1][0], ""))
    result = run_audit(records_of(pairs), records_of(alpaca_pairs[20:25]), params=params, progress=False)
    json_path, html_path = write_audit(result, tmp_path / "out")
    assert load_audit(json_path) == result
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert {"findings", "checks", "summary"} <= set(data)
    first = data["findings"][0]
    assert set(first) >= {"check", "severity", "message", "refs"}
    assert set(first["refs"][0]) >= {"split", "index"}
    html = html_path.read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    for f in result.findings:
        assert f.message.replace("'", "&#39;") in html
    for c in result.checks:
        assert f'id="check-{c.check}"' in html
    assert html.count('class="row"') >= 3  # the duplicate pair and the empty-target row, side by side
