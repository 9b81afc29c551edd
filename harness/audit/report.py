"""Write ``audit.json`` and ``audit.html``: every finding with its rows side by side, and the parameters.

The HTML is rendered by jinja2 with autoescaping on: dataset text is data and
never markup (a row holding ``<script>`` shows as text).
"""

from __future__ import annotations

import json
from pathlib import Path

from jinja2 import Environment

from harness.io import atomic_write_text
from harness.results import AuditResult, Finding, write_json

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_ENV.filters["pretty"] = lambda v: json.dumps(v, indent=2, ensure_ascii=False, default=str)

TEMPLATE = _ENV.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dataset audit</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}
table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3em .6em;vertical-align:top;text-align:left}
.error{color:#b00020}.warning{color:#8a5a00}.info{color:#555}
.rows{display:flex;gap:.8em;overflow-x:auto;margin:.4em 0 1em}
.row{flex:1 1 0;min-width:260px;border:1px solid #ddd;border-radius:4px;padding:.5em;background:#fafafa}
.row pre,.params{white-space:pre-wrap;word-break:break-word;margin:.3em 0;font-size:.85em}
.meta{color:#555;font-size:.85em}
</style></head><body>
<h1>Dataset audit</h1>
<p>Rows: {% for k, v in summary.rows.items() %}{{ k }} {{ v }}{% if not loop.last %}, {% endif %}{% endfor %}
{% for k, v in summary.get('benchmarks', {}).items() %}; benchmark {{ k }} {{ v }} docs{% endfor %}.
Findings: <span class="error">{{ severity.error }} errors</span>,
<span class="warning">{{ severity.warning }} warnings</span>,
<span class="info">{{ severity.info }} info</span>
in {{ summary.get('seconds', 0) }} s.</p>
<h2>Checks</h2>
<table><tr><th>check</th><th>findings</th><th>seconds</th><th>parameters</th></tr>
{% for c in checks %}<tr><td id="check-{{ c.check }}">{{ c.check }}</td><td>{{ c.findings }}</td>
<td>{{ '%.3f' % c.seconds }}</td><td><pre class="params">{{ c.params | pretty }}</pre></td></tr>
{% endfor %}</table>
{% for check, items in groups %}
<h2>{{ check }} ({{ items | length }})</h2>
{% for f in items %}
<div class="finding"><p class="{{ f.severity }}"><b>{{ f.severity }}</b> {{ f.message }}</p>
<p class="meta">refs: {% for r in f.refs[:50] %}{{ r.split }}[{{ r.index }}]
{%- if not loop.last %}, {% endif %}{% endfor %}
{% if f.refs | length > 50 %} ... ({{ f.refs | length - 50 }} more){% endif %}</p>
{% set rows = side_by_side(f) %}
{% if rows %}<div class="rows">{% for r in rows %}<div class="row"><div class="meta">{{ r.label }}</div>
<pre>{{ r.text }}</pre></div>{% endfor %}</div>{% endif %}
<details><summary class="meta">details</summary>
<pre class="params">{{ without_members(f.details) | pretty }}</pre></details>
</div>
{% endfor %}{% endfor %}
</body></html>
""")


def side_by_side(f: Finding) -> list[dict[str, str]]:
    """The rows a finding is about (``details["members"]``), as (label, text) cards."""
    cards = []
    for m in f.details.get("members", []):
        if not isinstance(m, dict):
            continue
        label = f"{m.get('split', '?')}[{m.get('index', '?')}]" + (f" {m['id']}" if m.get("id") else "")
        prompt, text = m.get("prompt"), str(m.get("text", ""))
        if m.get("response") is not None:  # a record given as prompt and response
            text = f"{prompt}\n---\n{m['response']}"
        elif prompt:  # a target, with the prompt it answers
            text = f"{prompt}\n---\n{text}"
        cards.append({"label": label, "text": text})
    return cards


def render_html(result: AuditResult) -> str:
    groups: dict[str, list[Finding]] = {}
    for f in result.findings:
        groups.setdefault(f.check, []).append(f)
    severity = {s: result.count(s) for s in ("error", "warning", "info")}
    return TEMPLATE.render(summary=result.summary, checks=result.checks, groups=list(groups.items()),
                           severity=severity, side_by_side=side_by_side,
                           without_members=lambda d: {k: v for k, v in d.items() if k != "members"})


def write_audit(result: AuditResult, out_dir: Path) -> tuple[Path, Path]:
    """Write ``out_dir/audit.json`` and ``out_dir/audit.html`` atomically; returns both paths."""
    out_dir = Path(out_dir)
    json_path = write_json(result, out_dir / "audit.json")
    html_path = out_dir / "audit.html"
    atomic_write_text(html_path, render_html(result))
    return json_path, html_path
