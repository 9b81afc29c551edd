"""Acceptance, smaller: planted recall >= 0.95 per class on Phi-3 mini and Mistral, nothing on clean data.

``bench/planted_templates.py`` runs the full-size version (more records per class,
300 clean conversations per tokenizer) on the realdata files.
"""

from __future__ import annotations

import pytest
from test_templates_support import MISTRAL, PHI3, TEMPLATES, load, long_answers, pairs

from harness.audit.template_findings import CHECKS
from harness.testing.template_planted import clean_records, load_templates, measure, planted_groups


@pytest.mark.parametrize(("family", "path"), [("phi3", PHI3), ("mistral", MISTRAL)])
def test_planted_recall_and_clean_false_positives(family: str, path: object) -> None:
    tok = load(path)  # type: ignore[arg-type]
    own_template = tok.chat_template
    clean = clean_records(pairs(), 60, system_ok=family == "phi3", seed=11)
    groups = planted_groups(tok, pairs(), long_answers(), 10, family=family,
                            templates=load_templates(TEMPLATES), seed=12)
    report = measure(tok, clean, groups, max_seq_len=1024)
    assert tok.chat_template == own_template  # measure puts the tokenizer's template back
    every = set(CHECKS) - {"no_chat_template"}
    missing = {"template_render"} if family == "phi3" else set()  # the Phi-3 template never raises
    assert set(report.planted) == every - missing
    assert all(n >= 10 for n in report.planted.values())
    low = {c: r for c, r in report.recall.items() if r < 0.95}
    assert not low, (low, report.missed)
    assert report.clean == 60 and report.clean_false_positives == 0, report.clean_findings
