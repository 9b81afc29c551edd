from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import SweepConfig
from harness.errors import ConfigError
from harness.suite import load_suite

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "suites" / "demo" / "model"
TRAIN = ROOT / "suites" / "demo" / "train.jsonl"


def suite_file(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "s.yaml"
    p.write_text(f"name: t\nbase: {{path: {MODEL}}}\ndata: {{train: {TRAIN}, eval: {TRAIN}}}\n{body}")
    return p


def test_demo_suite_loads_and_expands() -> None:
    suite = load_suite(ROOT / "suites" / "demo.yaml")
    labels = [s.label() for s in suite.sweep.expand()]
    assert labels == ["r4-qv", "r8-attn", "r8-all"]
    assert suite.resolve(suite.base.path).is_dir()


def test_grid_with_tied_alpha() -> None:
    sweep = SweepConfig(grid={"r": [4, 8], "lora_alpha": ["2*r"], "learning_rate": [1e-3]})
    specs = sweep.expand()
    assert [(s.r, s.lora_alpha) for s in specs] == [(4, 8.0), (8, 16.0)]


def test_bad_grid_value_names_key_path(tmp_path: Path) -> None:
    p = suite_file(tmp_path, "sweep:\n  grid:\n    r: [4, 8, sixteen]\n")
    with pytest.raises(ConfigError) as err:
        load_suite(p)
    assert "sweep.grid.r[2]: expected an integer, got 'sixteen'" in str(err.value)


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    p = suite_file(tmp_path, "sweep:\n  grid:\n    lora_alpa: [8]\n")
    with pytest.raises(
        ConfigError, match=r"sweep\.grid\.lora_alpa: unknown trial parameter; did you mean 'lora_alpha'"
    ):
        load_suite(p)
    p = suite_file(tmp_path, "scor: {}\n")
    with pytest.raises(ConfigError, match=r"scor: unknown key \(did you mean 'score'\?\)"):
        load_suite(p)


def test_missing_path_is_refused_before_work(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(f"name: t\nbase: {{path: {MODEL}}}\ndata: {{train: nope.jsonl, eval: {TRAIN}}}\n")
    with pytest.raises(ConfigError, match=r"data\.train: path does not exist"):
        load_suite(p)


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text("name: t\nbase: [unclosed\n")
    with pytest.raises(ConfigError, match="line"):
        load_suite(p)


def test_unknown_metric_and_mmlu_without_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="did you mean 'exact_match'"):
        load_suite(suite_file(tmp_path, "score: {metrics: [exact_mach]}\n"))
    with pytest.raises(ConfigError, match=r"needs score\.mmlu\.path"):
        load_suite(suite_file(tmp_path, "score: {metrics: [mmlu]}\n"))


def test_4bit_without_bitsandbytes_is_refused_up_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "bitsandbytes" else real(name, *a)
    )
    with pytest.raises(ConfigError, match=r"base\.load_in_4bit: 4-bit loading needs bitsandbytes"):
        load_suite(suite_file(tmp_path, ""))


@pytest.mark.parametrize(("body", "message"), [
    ("audit: {ngram: 2}\n", "audit.ngram: Input should be greater than or equal to 3, got 2"),
    ("audit: {max_seq_len: 8}\n", "audit.max_seq_len: Input should be greater than 8, got 8"),
    ("sweep: {max_seq_len: 8}\n", "sweep.max_seq_len: Input should be greater than 8, got 8"),
    ("audit: {near_duplicate_threshold: 0}\n", "audit.near_duplicate_threshold: Input should be greater"),
])
def test_audit_knobs_are_bounded_once_for_the_suite_and_the_library(
    tmp_path: Path, body: str, message: str
) -> None:
    from pydantic import ValidationError

    from harness.audit import AuditParams

    with pytest.raises(ConfigError) as err:
        load_suite(suite_file(tmp_path, body))
    assert message in str(err.value)
    section, _, rest = body.partition(": ")
    key, _, value = rest.strip("{}\n").partition(": ")
    if section == "audit":  # harness.audit.AuditParams (and `harness audit`) take the same bounds
        with pytest.raises(ValidationError):
            AuditParams.model_validate({key: float(value)})


def test_the_audit_params_inherit_the_suite_knobs() -> None:
    from harness.audit import AuditParams
    from harness.config import AuditConfig, AuditKnobs

    assert issubclass(AuditParams, AuditKnobs) and issubclass(AuditConfig, AuditKnobs)
    for name, field in AuditKnobs.model_fields.items():  # inherited, not redefined: the same FieldInfo
        assert repr(AuditParams.model_fields[name]) == repr(AuditConfig.model_fields[name]) == repr(field)
    assert (AuditParams().ngram, AuditParams().near_duplicate_threshold, AuditParams().max_seq_len) == (
        13, 0.8, None)


def template_suite(tmp_path: Path, template: str) -> Path:
    p = tmp_path / "t.yaml"
    p.write_text(f"name: t\nbase: {{path: {MODEL}, chat_template: {template}}}\n"
                 f"data: {{train: {TRAIN}, eval: {TRAIN}}}\n")
    return p


def test_chat_template_clone_and_string_forms(tmp_path: Path) -> None:
    from harness.config import CloneTemplateConfig
    from harness.models.suite_base import suite_chat_template
    from harness.models.templates import CloneSpec

    qwen = ROOT / "suites" / "chatml" / "qwen2.5-instruct.json"
    suite = load_suite(template_suite(tmp_path, f"{{clone: {qwen}}}"))
    assert suite.base.chat_template == CloneTemplateConfig(clone=str(qwen))
    assert suite_chat_template(suite) == CloneSpec(qwen, 64)
    phi3 = ROOT / "tests" / "fixtures" / "templates" / "phi-3-mini"  # a tokenizer folder
    folder = load_suite(template_suite(tmp_path, f"{{clone: {phi3}, resize_to_multiple_of: null}}"))
    assert folder.base.chat_template.resize_to_multiple_of is None  # type: ignore[union-attr]
    for form, expected in (("null", None), ("plain", "plain")):
        assert suite_chat_template(load_suite(template_suite(tmp_path, form))) == expected
    jinja = tmp_path / "t.jinja"
    jinja.write_text("{{ messages }}")
    assert suite_chat_template(load_suite(template_suite(tmp_path, str(jinja)))) == str(jinja)


@pytest.mark.parametrize(("value", "message"), [
    ("{clone: nowhere.json}", r"base\.chat_template\.clone: no such tokenizer folder or tokenizer_config"),
    ("{clone: NOTEMPLATE}", r"base\.chat_template\.clone: .* holds no chat_template to clone"),
    ("{clon: x.json}", r"base\.chat_template\.clon: unknown key \(write chat_template: \{clone: DIR_OR"),
    ("{clone: x.json, resize_to_multiple_of: 0}", r"base\.chat_template\.resize_to_multiple_of: "),
])
def test_bad_clone_source_is_a_one_line_config_error(tmp_path: Path, value: str, message: str) -> None:
    bare = tmp_path / "bare.json"
    bare.write_text('{"eos_token": "</s>"}')
    with pytest.raises(ConfigError, match=message) as err:
        load_suite(template_suite(tmp_path, value.replace("NOTEMPLATE", str(bare))))
    assert "\n" not in str(err.value)


def test_a_suite_runs_its_audit_on_a_ray_cluster_only_when_it_says_ray(tmp_path: Path) -> None:
    from harness.pipeline import suite_audit_params

    suite = load_suite(suite_file(tmp_path, "audit:\n  executor: ray\n  ray_address: 10.0.0.5:6379\n"))
    params = suite_audit_params(suite)
    assert (params.executor, params.ray_address) == ("ray", "10.0.0.5:6379")
    with pytest.raises(ConfigError, match=r"audit\.ray_address: .*needs the ray executor"):
        load_suite(suite_file(tmp_path, "audit:\n  ray_address: 10.0.0.5:6379\n"))
