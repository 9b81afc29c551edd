"""Training against serving templates: planted mismatches on the fixture tokenizers, findings, CLI, suite.

The planted measurement is ``bench/planted_serving.py`` made small: the tokenizers
and templates copied into ``tests/fixtures/templates`` (Phi-3 mini and Mistral
tokenizers, the others cloned onto Mistral's), six template families, a few dozen
real conversations each.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from harness.audit.serving_template import CHECK, escape, serving_template_audit, units_of
from harness.cli import main
from harness.data.loaders import load_records
from harness.data.record import ASSISTANT, USER, Record, Turn
from harness.errors import ConfigError
from harness.models.loading import load_tokenizer
from harness.suite import load_suite
from harness.templates.serving import load_serving_template, serving_from_text
from harness.testing.serving_families import FAMILIES, family_tokenizer
from harness.testing.serving_planted import CLASSES, matching_cases, measure, planted_cases
from harness.testing.template_planted import clean_records, load_templates

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
TEMPLATES = FIXTURES / "templates"
SERVING = FIXTURES / "serving"
CONVERSATIONS = TEMPLATES / "conversations.jsonl"


@cache
def templates() -> dict[str, str]:
    return load_templates(TEMPLATES / "chat_templates")


def tokenizer_for(name: str) -> Any:
    return family_tokenizer(FAMILIES[name], templates(), lambda folder: load_tokenizer(TEMPLATES / folder)[0],
                            lambda: load_tokenizer(TEMPLATES / "mistral-7b-instruct-v0.2")[0])


@cache
def pairs() -> list[tuple[str, str]]:
    rows = [r for r in load_records(CONVERSATIONS) if len(r.turns) == 2]
    return [(r.prompt.strip(), r.response.strip()) for r in rows][:120]


@pytest.mark.parametrize("family", list(FAMILIES))
def test_planted_mismatches_are_recalled_and_matching_templates_are_clean(family: str) -> None:
    tok = tokenizer_for(family)
    clean = clean_records(pairs(), 24, system_ok=FAMILIES[family].pieces.system, seed=5)
    cases = matching_cases(FAMILIES[family], templates(), SERVING) + planted_cases(
        FAMILIES[family], templates(), tok.bos_token or None)
    m = measure(tok, clean, cases, limit=24)
    assert m.matching >= 3 and m.false_alarms == 0, m.false_alarm_labels
    planted = set(m.cases)
    expected = set(CLASSES) - ({"bos_doubled"} if not tok.bos_token else set())
    expected -= set() if FAMILIES[family].pieces.generation else {"missing_generation_prompt"}
    expected -= set() if FAMILIES[family].pieces.system else {"system_prompt_dropped"}
    assert planted == expected
    assert all(v >= 0.95 for v in m.recall().values()), (m.recall(), m.missed)
    assert all(v >= 0.95 for v in m.conversation_recall().values()), m.conversation_recall()
    assert all(m.conversations[c] >= 5 for c in planted), m.conversations


def test_findings_one_per_family_with_escaped_example() -> None:
    tok = tokenizer_for("phi3")
    pieces = FAMILIES["phi3"].pieces
    broken = pieces.__class__(**{**pieces.__dict__, "generation": "", "bos": "<s>"})
    from harness.testing.serving_families import modelfile

    serving = serving_from_text(modelfile(broken), "modelfile", "planted.Modelfile")
    records = load_records(CONVERSATIONS)[:30]
    audit = serving_template_audit(tok, records, serving)
    families = [f.details["family"] for f in audit.findings]
    assert families == ["bos_doubled", "missing_generation_prompt"]
    assert all(f.check == CHECK and f.severity == "error" for f in audit.findings)
    gen = audit.findings[1]
    assert gen.details["conversations"] == gen.details["compared"] == 34  # 30 rows + 4 probes
    assert [r.index for r in gen.refs][:3] == [0, 1, 2]
    example = gen.details["example"]
    assert example["training"]["render"].endswith("<|end|>\\n<|assistant|>\\n")  # newlines escaped
    assert example["training"]["token"] == "<|assistant|>"
    assert example["serving"]["token"] == "(end of prompt)"
    bos = audit.findings[0].details["example"]
    assert bos["training"]["token_position"] == 0 and bos["serving"]["token_id"] == tok.bos_token_id
    assert audit.check.findings == 2 and audit.check.params["kind"] == "modelfile"


def test_content_whitespace_is_found_where_the_training_template_trims() -> None:
    # Llama 3's HF template trims contents; the Ollama template (like Ollama's own) does not.
    tok = tokenizer_for("llama3")
    serving = load_serving_template(SERVING / "llama3.Modelfile")
    rows = [Record((Turn(USER, "What is 2+2?\n"), Turn(ASSISTANT, "4")), 0, "m", "messages"),
            Record((Turn(USER, "What is 3+3?"), Turn(ASSISTANT, "6")), 1, "m", "messages")]
    audit = serving_template_audit(tok, rows, serving)
    assert [f.details["family"] for f in audit.findings] == ["whitespace"]
    assert [r.index for r in audit.findings[0].refs] == [0]


def test_units_sample_rows_evenly_and_cut_before_the_last_answer() -> None:
    rows = [Record((Turn(USER, f"q{k}"), Turn(ASSISTANT, f"a{k}")), k, "m", "messages") for k in range(10)]
    rows.append(Record((Turn(ASSISTANT, "alone"),), 10, "m", "messages"))
    units = units_of(rows, limit=5)
    assert [u.label for u in units if u.index is not None] == [f"train#{k}" for k in (0, 2, 4, 6, 8)]
    assert all(u.roles[-1] == USER for u in units)
    assert escape("a\nb\t\\\x00") == "a\\nb\\t\\\\\\x00"


def test_cli_exit_codes_and_audit_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["audit", str(CONVERSATIONS), "--tokenizer", str(TEMPLATES / "phi-3-mini"), "--quiet"]
    out = tmp_path / "ok"
    assert main([*base, "--serving-template", str(SERVING / "phi3.Modelfile"), "--out", str(out)]) == 0
    audit = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    assert CHECK in [c["check"] for c in audit["checks"]]
    assert audit["summary"][CHECK]["compared"] > 200
    bad = tmp_path / "bad"
    assert main([*base, "--serving-template", str(SERVING / "llama3.Modelfile"), "--out", str(bad)]) == 1
    audit = json.loads((bad / "audit.json").read_text(encoding="utf-8"))
    found = {f["details"]["family"] for f in audit["findings"] if f["check"] == CHECK}
    assert found == {"wrong_family", "missing_end_of_turn"}
    assert audit["summary"]["counts"][CHECK]["error"] == 2
    broken = tmp_path / "broken.gotmpl"
    broken.write_text("{{ range .Messages }}\n{{ if .Role }}{{ end }", encoding="utf-8")
    capsys.readouterr()
    never = tmp_path / "never"
    assert main([*base, "--serving-template", str(broken), "--out", str(never)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"harness: error: {broken}:2: Go template does not parse") and "\n" not in err
    assert not never.exists()  # refused before any work


def _suite(tmp_path: Path, serving: str) -> Path:
    model = ROOT / "suites" / "demo" / "model"
    rows = tmp_path / "rows.jsonl"
    lines = CONVERSATIONS.read_text(encoding="utf-8").splitlines()[:20]
    rows.write_text("\n".join(lines) + "\n", encoding="utf-8")
    p = tmp_path / "s.yaml"
    p.write_text(f"name: t\nbase: {{path: {model}, load_in_4bit: false}}\n"
                 f"data: {{train: {rows}, eval: {rows}}}\naudit: {{serving_template: {serving}}}\n",
                 encoding="utf-8")
    return p


def test_suite_key_is_checked_at_load(tmp_path: Path) -> None:
    (tmp_path / "serve.jinja").write_text("{% for m in messages %}\n{% endfor", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_suite(_suite(tmp_path, "serve.jinja"))
    assert "audit.serving_template" in str(info.value) and "serve.jinja:2" in str(info.value)
    with pytest.raises(ConfigError, match="path does not exist"):
        load_suite(_suite(tmp_path, "missing.Modelfile"))


def test_suite_audit_runs_the_check(tmp_path: Path) -> None:
    from harness.models.templates import PLAIN_TEMPLATE
    from harness.pipeline import audit_suite

    (tmp_path / "plain.jinja").write_text(PLAIN_TEMPLATE, encoding="utf-8")
    suite = load_suite(_suite(tmp_path, "plain.jinja"))  # the demo model is trained on the plain template
    result = audit_suite(suite, tmp_path / "out", progress=False)
    assert result.count(check=CHECK) == 0 and CHECK in [c.check for c in result.checks]
    suite = load_suite(_suite(tmp_path, str(SERVING / "chatml.gotmpl")))
    result = audit_suite(suite, tmp_path / "out2", progress=False)
    assert result.count(check=CHECK) > 0 and result.count("error", CHECK) == result.count(check=CHECK)


def test_a_default_system_prompt_training_never_had_is_reported() -> None:
    tok = tokenizer_for("chatml-plain")  # plain ChatML: no default system prompt
    audit = serving_template_audit(tok, load_records(CONVERSATIONS)[:10], load_serving_template(
        SERVING / "qwen2.5.Modelfile"))  # writes Qwen's SYSTEM when a conversation has none
    added = [f for f in audit.findings if f.details["family"] == "system_prompt_added"]
    assert [f.details["family"] for f in audit.findings] == ["system_prompt_added"]
    assert added[0].details["conversations"] == 12  # 10 rows + the 2 probes without a system turn
    assert audit.summary["serving_default_system"].startswith("You are Qwen")


def test_the_training_side_is_the_scorers_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each row is compared as the scorer would prompt the model with it (one renderer for both)."""
    import harness.audit.serving_template as serving_check
    from harness.models.template_ids import generation_prompt_text, render_generation_prompt_ids

    rendered: list[tuple[list[dict[str, str]], Any]] = []
    real = serving_check.render_generation_prompt

    def recorded(tok: Any, conversation: list[dict[str, str]]) -> Any:
        out = real(tok, conversation)
        rendered.append((conversation, out))
        return out

    monkeypatch.setattr(serving_check, "render_generation_prompt", recorded)
    tok = tokenizer_for("chatml-plain")
    records = load_records(CONVERSATIONS)[:8]
    audit = serving_template_audit(tok, records, load_serving_template(SERVING / "chatml.gotmpl"))
    assert len(rendered) == audit.summary["compared"] == len(units_of(records))
    texts = {out.text for _, out in rendered}
    assert {generation_prompt_text(tok, r) for r in records} <= texts
    for conversation, out in rendered:
        assert out.ids == render_generation_prompt_ids(tok, conversation)
