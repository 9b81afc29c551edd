"""MMLU through lm-eval: the CSV layout, the prompt, and parity with calling lm-eval directly."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from score_support import FIX, MODEL

from harness.errors import DataError
from harness.score.mmlu import description, list_subjects, load_items, read_rows, run_mmlu

ROOT = FIX / "mmlu"


def test_rows_keep_their_text_exactly() -> None:
    rows = read_rows(ROOT / "test" / "college_mathematics_test.csv", "college_mathematics")
    assert len(rows) == 10
    assert rows[1].choices == ("0", "1", "2", "3") and rows[1].answer == 3  # numbers stay strings
    assert rows[8].choices[0] == "None"  # not a missing value
    assert "\nI. P is invertible." in rows[8].question and rows[8].answer == 2
    assert rows[8].item_id == "mmlu/college_mathematics/8"


def test_load_items_limits_per_subject_and_checks_names() -> None:
    assert list_subjects(ROOT) == ["abstract_algebra", "college_mathematics", "formal_logic"]
    items = load_items(ROOT, limit=4)
    assert [(i.subject, i.index) for i in items if i.index == 3] == [
        ("abstract_algebra", 3), ("college_mathematics", 3), ("formal_logic", 3)]
    assert len(items) == 12
    assert len(load_items(ROOT, ["formal_logic"])) == 6
    with pytest.raises(DataError, match="no test file for subject"):
        load_items(ROOT, ["astrology"])


@pytest.mark.parametrize(("line", "message"), [
    ("q,a,b,c,D\n", "expected 6 fields"),
    ("q,a,b,c,d,E\n", "answer must be one of A-D"),
    ("q,a,b,c,d,\n", "answer must be one of A-D"),
])
def test_malformed_rows_are_data_errors_with_a_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "x_test.csv"
    path.write_text("fine,a,b,c,d,A\n" + line, encoding="utf-8")
    with pytest.raises(DataError, match=message) as err:
        read_rows(path, "x")
    assert err.value.line == 2


def test_descriptions_match_lm_evals_own_subject_configs() -> None:
    import lm_eval.tasks

    folder = Path(lm_eval.tasks.__file__).parent / "mmlu" / "default"
    configs = sorted(folder.glob("mmlu_*.yaml"))
    assert len(configs) == 57
    for path in configs:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert description(cfg["dataset_name"]) == cfg["description"], path.name


def _direct_lm_eval(data: Path, subjects: list[str], limit: int) -> dict[str, Any]:
    """lm-eval as a user calls it: its own mmlu_<subject> configs, its own HFLM loading the folder."""
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager
    from lm_eval.tasks._yaml_loader import load_yaml

    folder = Path(lm_eval.tasks.__file__).parent / "mmlu" / "default"
    tasks = []
    for subject in subjects:
        files = {}
        for split in ("test", "dev"):
            out = data / f"{subject}_{split}.jsonl"
            with open(ROOT / split / f"{subject}_{split}.csv", newline="", encoding="utf-8") as fh:
                out.write_text("".join(json.dumps({"question": r[0], "subject": subject, "choices": r[1:5],
                                                   "answer": "ABCD".index(r[5])}) + "\n"
                                       for r in csv.reader(fh)), encoding="utf-8")
            files[split] = str(out)
        cfg = load_yaml(folder / f"mmlu_{subject}.yaml")
        cfg.pop("tag", None)
        cfg.update(dataset_path="json", dataset_name=None, dataset_kwargs={"data_files": files})
        tasks.append(cfg)
    lm = HFLM(pretrained=str(MODEL), batch_size=8, device="cpu")
    out = lm_eval.simple_evaluate(model=lm, tasks=tasks, limit=limit, log_samples=True, bootstrap_iters=0,
                                  task_manager=TaskManager(include_defaults=False))
    assert out is not None
    return out


@pytest.mark.slow
def test_acc_equals_calling_lm_eval_directly(tmp_path: Path) -> None:
    from harness.models import load_base

    subjects = ["abstract_algebra", "formal_logic"]  # short and long prompts (newlines inside)
    direct = _direct_lm_eval(tmp_path, subjects, limit=4)
    loaded = load_base(MODEL, load_in_4bit=False)  # lm-eval's own HFLM loads float32 weights
    wanted = {s: [i.index for i in load_items(ROOT, [s], limit=4)] for s in subjects}
    ours = run_mmlu(loaded.model, loaded.tokenizer, ROOT, wanted, batch_size=8)
    assert len(ours) == 8
    for subject in subjects:
        samples = {s["doc_id"]: s for s in direct["samples"][f"mmlu_{subject}"]}
        assert sorted(samples) == wanted[subject]
        for row, sample in samples.items():
            lls = [r[0] for r in sample["filtered_resps"]]
            assert ours[(subject, row)].acc == sample["acc"]
            assert ours[(subject, row)].pred == lls.index(max(lls))
        acc = sum(ours[(subject, r)].acc for r in wanted[subject]) / len(wanted[subject])
        assert acc == pytest.approx(direct["results"][f"mmlu_{subject}"]["acc,none"], abs=1e-12)
