"""The report shows the noise floor of repeated scoring: means ± spread and pass^N per gate."""

from __future__ import annotations

from pathlib import Path

from harness.gate import evaluate_gates
from harness.report import render_run
from harness.results import RepeatRun, RunResults


def test_report_shows_spread_and_pass_n(tmp_path: Path) -> None:
    runs = [
        RepeatRun(seed=s, models={"base": {"exact_match": 0.1}, "ft": {"exact_match": v}})
        for s, v in ((3, 0.78), (4, 0.82), (5, 0.80))
    ]
    res = RunResults(
        suite="s",
        models={"base": {"exact_match": 0.1}, "ft": {"exact_match": 0.8}},
        candidate="ft",
        repeats=runs,
    )
    res = res.model_copy(update={"gates": evaluate_gates(res, ["exact_match >= 0.79", "exact_match >= 0.5"])})
    html = render_run(res, [], tmp_path / "index.html").read_text(encoding="utf-8")
    assert "Scored 3 times, sampling under seeds 3..5" in html
    assert "0.8 ± 0.02" in html  # the candidate's mean and standard deviation
    assert 'class="passn flaky">pass^3: no (2/3, flaky)' in html
    assert 'class="passn">pass^3: yes (3/3)' in html


def test_single_scoring_run_shows_no_noise_floor(tmp_path: Path) -> None:
    res = RunResults(suite="s", models={"ft": {"exact_match": 0.8}}, candidate="ft")
    res = res.model_copy(update={"gates": evaluate_gates(res, ["exact_match >= 0.5"])})
    html = render_run(res, [], tmp_path / "index.html").read_text(encoding="utf-8")
    assert "pass^" not in html and "Scored " not in html and "±" not in html
