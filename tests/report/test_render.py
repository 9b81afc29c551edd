"""Reports escape everything from data and models; checked as text and in a real headless Chromium."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from factories import make_trial
from PIL import Image

from harness.report import plots, render_audit, render_run, render_sweep
from harness.results import (
    AuditResult,
    CheckRun,
    Comparison,
    Evaluation,
    Finding,
    GateResult,
    ItemScore,
    Ref,
    RunResults,
    SweepResult,
    TrialResult,
)

PAYLOADS = [
    "<script>document.documentElement.setAttribute('data-pwned','script')</script>",
    "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','img')\">",
    "<a href=\"javascript:document.documentElement.setAttribute('data-pwned','js')\">click</a>",
    "</textarea></pre></td><svg onload=\"document.documentElement.setAttribute('data-pwned','svg')\">",
]


def trial(name: str, r: int, scale: float = 1.0) -> TrialResult:
    return make_trial(name, r, scale=scale)


def hostile_results(passed: bool) -> tuple[RunResults, list[ItemScore]]:
    bad = " ".join(PAYLOADS)
    items = [
        ItemScore(
            item_id=f"eval-{i}",
            model=m,
            prompt=bad,
            output=bad if m == "base" else "ok",
            reference=bad,
            scores={"exact_match": float(m != "base")},
        )
        for i in range(3)
        for m in ("base", PAYLOADS[0])
    ]
    comp = Comparison(
        metric="exact_match",
        base="base",
        candidate=PAYLOADS[0],
        base_value=0.0,
        candidate_value=1.0,
        delta=1.0,
        ci_low=0.5,
        ci_high=1.0,
        p_value=0.01,
        n=3,
        improved=["eval-0"],
        regressed=["eval-1"],
    )
    audit = AuditResult(
        findings=[
            Finding(
                check="exact_duplicates",
                severity="warning",
                message=bad,
                refs=[Ref(split="train", index=1)],
                details={"members": [{"split": "train", "index": 1, "text": bad}], "note": bad},
            )
        ],
        checks=[CheckRun(check="exact_duplicates", params={"x": bad}, findings=1)],
    )
    gate = GateResult(name="exact_match", expression=bad, passed=passed, observed=1.0, message=bad)
    results = RunResults(
        suite=bad,
        models={"base": {"exact_match": 0.0}, PAYLOADS[0]: {"exact_match": 1.0}, "r8": {"exact_match": 0.5}},
        comparisons=[comp],
        gates=[gate],
        audit=audit,
        candidate=PAYLOADS[0],
        sweep=SweepResult(trials=[trial("r8", 8), trial("r16", 16), trial(PAYLOADS[1], 4)]),
    )
    return results, items


def test_payloads_are_escaped_in_html(tmp_path: Path) -> None:
    results, items = hostile_results(passed=False)
    html = render_run(results, items, tmp_path / "index.html").read_text()
    for payload in PAYLOADS:
        assert payload not in html
    assert "&lt;script&gt;" in html  # shown as text
    assert 'href="javascript' not in html and "<svg onload" not in html and "<img src=x" not in html
    assert 'class="banner fail"' in html
    audit_html = render_audit(results.audit, tmp_path / "audit.html").read_text()  # type: ignore[arg-type]
    assert all(p not in audit_html for p in PAYLOADS)


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")
    return exe


def _chromium_args(profile: str) -> list[str]:
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]


def _dump_dom(exe: str, page: Path) -> str:
    """The DOM after the page's scripts ran (3 s of virtual time), from a throwaway profile."""
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [exe, *_chromium_args(profile), "--virtual-time-budget=3000", "--dump-dom", page.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout


def test_no_script_runs_in_chromium(tmp_path: Path) -> None:
    exe = _chromium()
    results, items = hostile_results(passed=False)
    page = render_run(results, items, tmp_path / "index.html")
    dom = _dump_dom(exe, page)
    assert 'data-report-ready="1"' in dom  # our own script ran, so scripts do run in this browser
    html_tag = re.search(r"<html[^>]*>", dom)
    assert html_tag is not None and "data-report-ready" in html_tag.group(0)
    assert "data-pwned" not in html_tag.group(0)  # no payload set its marker on <html>


def test_screenshot_shows_the_verdict_banner(tmp_path: Path) -> None:
    exe = _chromium()
    from PIL import Image

    results, items = hostile_results(passed=False)
    page = render_run(results, items, tmp_path / "index.html")
    shot = tmp_path / "shot.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [exe, *_chromium_args(profile), "--window-size=1280,900", f"--screenshot={shot}", page.as_uri()],
            capture_output=True,
            timeout=120,
        )
    img = Image.open(shot).convert("RGB")
    top = img.crop((0, 0, img.width, 220))
    colors = top.getcolors(maxcolors=1 << 20) or []
    assert len(colors) > 20  # not blank
    banner_red = sum(
        n for n, (r, g, b) in colors if abs(r - 0xB3) < 8 and abs(g - 0x26) < 8 and abs(b - 0x1E) < 8
    )
    assert banner_red > 5000  # the red FAIL banner is above the fold


# --- sweep comparison page and the faceted delta plot ----------------------------------------


class _Table(HTMLParser):
    """The rows of one table (by id) as lists of (text, classes); <br> reads as a space."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.inside, self.rows = table_id, False, []  # type: ignore[var-annotated]
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.inside = self.inside or (tag == "table" and a.get("id") == self.table_id)
        if self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = ["", a.get("class") or ""]
        elif self.cell is not None and tag == "br":
            self.cell[0] += " "

    def handle_endtag(self, tag: str) -> None:
        if self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append((self.cell[0].strip(), set(self.cell[1].split())))
            self.cell = None
        self.inside = self.inside and tag != "table"

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell[0] += data


def table(html: str, table_id: str) -> list[list[tuple[str, set[str]]]]:
    parser = _Table(table_id)
    parser.feed(html)
    assert parser.rows, f"no table #{table_id}"
    return parser.rows


def row(rows: list[list[tuple[str, set[str]]]], label: str) -> list[tuple[str, set[str]]]:
    """The trial cells of the row whose header is ``label`` (its note, after a space, aside)."""
    for r in rows:
        if r[0][0] == label or r[0][0].startswith(label + " "):
            return r[1:]
    raise AssertionError(f"no row {label!r} in {[r[0][0] for r in rows]}")


def best(cells: list[tuple[str, set[str]]]) -> list[int]:
    return [i for i, (_, css) in enumerate(cells) if "best" in css]


def comparison(metric: str, candidate: str, delta: float, half: float, higher: bool = True) -> Comparison:
    base = 5.0 if metric.endswith("perplexity") else 0.1
    return Comparison(
        metric=metric,
        base="base",
        candidate=candidate,
        base_value=base,
        candidate_value=base + delta,
        delta=delta,
        ci_low=delta - half,
        ci_high=delta + half,
        n=40,
        higher_is_better=higher,
    )


SCORES = {"r4": (0.4, 6.0), "r8": (0.7, 9.0), "r16": (0.6, 30.0)}  # exact_match, general_perplexity


def sweep_results(scored: bool) -> RunResults:
    sweep = SweepResult(trials=[trial("r4", 4), trial("r8", 8, scale=0.8), trial("r16", 16, scale=0.9)])
    if not scored:
        return RunResults(suite="s", sweep=sweep)
    models = {"base": {"exact_match": 0.1, "general_perplexity": 5.0}}
    comps = []
    for name, (em, ppl) in SCORES.items():
        models[name] = {"exact_match": em, "general_perplexity": ppl}
        comps.append(comparison("exact_match", name, em - 0.1, 0.05))
        comps.append(comparison("general_perplexity", name, ppl - 5.0, 0.5, higher=False))
    return RunResults(suite="s", models=models, comparisons=comps, sweep=sweep, candidate="r8")


def test_sweep_page_puts_scored_trials_side_by_side(tmp_path: Path) -> None:
    html = render_sweep(
        sweep_results(scored=True), tmp_path / "sweep.html", primary="exact_match"
    ).read_text()
    rows = table(html, "compare")
    header = rows[0]
    assert [text.split()[0] for text, _ in header[1:]] == ["r4", "r8", "r16"]  # one column per trial
    assert "cand" in header[2][1] and "candidate" in header[2][0]
    for r in rows[1:]:  # the candidate's column, and only it, is marked in every field row
        cells = r[1:]
        if len(cells) == 3:
            assert ["cand" in css for _, css in cells] == [False, True, False], r
    assert best(row(rows, "exact_match")) == [1]  # 0.7: higher is better
    assert best(row(rows, "general_perplexity")) == [0]  # 6.0: lower is better
    delta = row(rows, "exact_match: delta vs base [CI]")
    assert delta[1][0].startswith("+0.6 [") and "good" in delta[1][1] and best(delta) == [1]
    assert best(row(rows, "trainable params (share)")) == [0]
    assert best(row(rows, "final train loss")) == [1]  # r8 trained with the lowest loss scale
    assert row(rows, "r")[2][0] == "16" and row(rows, "DoRA")[0][0] == "no"
    # r16 is beaten by r8 on task, forgetting and cost: off the front
    assert [text for text, _ in row(rows, "Pareto front")] == ["★", "★", ""]
    assert 'href="index.html"' in html
    assert html.count('<img class="plot"') == 3 and html.count('src="data:image/png;base64,') == 3
    assert len(table(html, "trials")) == 4  # the long sortable table: header + one row per trial
    assert "http://" not in html and "https://" not in html  # self-contained


def test_sweep_page_without_scores_has_no_metric_rows(tmp_path: Path) -> None:
    html = render_sweep(
        sweep_results(scored=False), tmp_path / "sweep.html", primary="exact_match"
    ).read_text()
    rows = table(html, "compare")
    labels = [r[0][0] for r in rows]
    assert not any(label.startswith(("exact_match", "general_perplexity")) for label in labels)
    assert {"CONFIGURATION", "COST", "TRAINING", "SELECTION"} <= {lab.upper() for lab in labels}
    assert not any("cand" in css for r in rows for _, css in r)  # no candidate before scoring
    assert best(row(rows, "best validation loss")) == [1]
    # before scoring the front trades best validation loss against trainable params
    assert [text for text, _ in row(rows, "Pareto front")] == ["★", "★", ""]
    assert 'href="index.html"' not in html and "harness eval" in html
    assert html.count('<img class="plot"') == 3  # loss curves, loss heatmap, loss-vs-cost Pareto


def test_index_links_to_the_sweep_page(tmp_path: Path) -> None:
    html = render_run(sweep_results(scored=True), [], tmp_path / "index.html").read_text()
    assert 'href="sweep.html"' in html


def test_hostile_trial_and_model_names_are_escaped_on_the_sweep_page(tmp_path: Path) -> None:
    # '$\frac{$' would be parsed as mathtext by matplotlib (and fail) unless plots escape it
    names = [PAYLOADS[0], PAYLOADS[1], r"$\frac{$"]
    sweep = SweepResult(trials=[trial(n, r) for n, r in zip(names, (4, 8, 16), strict=True)])
    models = {
        "base": {"exact_match": 0.1},
        **{n: {"exact_match": 0.2 * (i + 1)} for i, n in enumerate(names)},
    }
    comps = [comparison("exact_match", n, 0.2 * (i + 1) - 0.1, 0.05) for i, n in enumerate(names)]
    results = RunResults(suite=PAYLOADS[3], models=models, comparisons=comps, sweep=sweep, candidate=names[0])
    html = render_sweep(results, tmp_path / "sweep.html", primary="exact_match").read_text()
    for payload in PAYLOADS:
        assert payload not in html
    assert "&lt;script&gt;" in html and "<img src=x" not in html and "<svg onload" not in html
    assert html.count("<script>") == 1  # ours, the sorting/filtering one
    index = render_run(results, [], tmp_path / "index.html").read_text()
    assert all(p not in index for p in PAYLOADS)


def test_no_script_runs_in_chromium_on_the_sweep_page(tmp_path: Path) -> None:
    exe = _chromium()
    names = [PAYLOADS[0], PAYLOADS[1], PAYLOADS[3]]
    sweep = SweepResult(trials=[trial(n, r) for n, r in zip(names, (4, 8, 16), strict=True)])
    page = render_sweep(RunResults(suite=PAYLOADS[2], sweep=sweep), tmp_path / "sweep.html", primary="x")
    dom = _dump_dom(exe, page)
    html_tag = re.search(r"<html[^>]*>", dom)
    assert html_tag is not None and "data-report-ready" in html_tag.group(0)
    assert "data-pwned" not in html_tag.group(0)


def test_delta_plot_has_one_panel_per_metric_on_its_own_scale() -> None:
    comps = [
        comparison("exact_match", "a", 0.10, 0.05),
        comparison("exact_match", "b", 0.20, 0.05),
        comparison("general_perplexity", "a", 40.0, 10.0, higher=False),  # worse: CI above zero
        comparison("general_perplexity", "b", 1.0, 3.0, higher=False),  # CI straddles zero
    ]
    fig = plots.delta_figure(comps)
    assert fig is not None
    try:
        em, ppl = fig.axes
        em_width, ppl_width = (ax.get_xlim()[1] - ax.get_xlim()[0] for ax in (em, ppl))
        assert em_width < 1 and ppl_width > 40  # a shared axis would flatten exact_match to a dot
        assert all(ax.get_xlim()[0] <= 0 <= ax.get_xlim()[1] for ax in (em, ppl))  # zero in view
        assert [t.get_text() for t in em.get_yticklabels()] == ["a", "b"]
        assert em.get_shared_y_axes().joined(em, ppl)  # candidates line up across panels
        markers = [line.get_color() for line in ppl.lines if line.get_marker() == "o"]
        assert markers == ["tab:red", "tab:gray"]  # lower is better: +40 with CI above zero is worse
    finally:
        plt.close(fig)
    uri = plots.delta_ci(comps)
    assert uri is not None and uri.startswith("data:image/png;base64,")
    img = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert img.format == "PNG" and img.width > img.height  # two panels side by side


@pytest.mark.parametrize(
    ("n_metrics", "n_candidates", "grid"), [(1, 1, (1, 1)), (5, 3, (2, 3)), (8, 10, (2, 4))]
)
def test_delta_plot_layout_scales(n_metrics: int, n_candidates: int, grid: tuple[int, int]) -> None:
    comps = [
        comparison(f"m{m}", f"trial-{c}", 0.1 * (m + 1), 0.05)
        for m in range(n_metrics)
        for c in range(n_candidates)
    ]
    fig = plots.delta_figure(comps)
    assert fig is not None
    try:
        assert len(fig.axes) == n_metrics  # no empty panels left in the grid
        assert fig.axes[0].get_subplotspec().get_gridspec().get_geometry() == grid
        assert len(fig.axes[0].get_yticks()) == n_candidates
    finally:
        plt.close(fig)


def test_pipeline_finish_writes_the_sweep_page(tmp_path: Path, tiny_suite_path: Path) -> None:
    from harness.pipeline import finish_evaluation
    from harness.suite import load_suite

    results = sweep_results(scored=True)
    scored = Evaluation(models=results.models, comparisons=results.comparisons, items=[], forward_passes={},
                        hashes={})
    finish_evaluation(load_suite(tiny_suite_path), tmp_path, scored, audit=None, sweep=results.sweep)
    assert (tmp_path / "index.html").is_file()
    assert len(table((tmp_path / "sweep.html").read_text(), "compare")[0]) == 4  # row head + 3 trials


def test_baseline_section_escapes_outputs_and_shows_a_refusal(tmp_path: Path) -> None:
    from harness.results import BaselineComparison, BaselineMetric, RegressedItem

    results, items = hostile_results(passed=False)
    bad = " ".join(PAYLOADS)
    compared = BaselineComparison(
        lock=bad,
        accepted_at="2024-01-01T00:00:00+00:00",
        baseline_candidate=bad,
        candidate=PAYLOADS[0],
        comparable=True,
        paired=True,
        note=bad,
        metrics=[
            BaselineMetric(
                metric="exact_match",
                baseline_value=1.0,
                current_value=0.5,
                delta=-0.5,
                ci_low=-1.0,
                ci_high=0.0,
                p_value=0.5,
                n=2,
                regressed=[bad],
            )
        ],
        regressions=[
            RegressedItem(item_id=bad, prompt=bad, reference=bad, baseline_output=bad, current_output=bad)
        ],
    )
    with_baseline = results.model_copy(update={"baseline": compared})
    html = render_run(with_baseline, items, tmp_path / "a.html").read_text()
    assert "Against the baseline" in html and 'id="baseline-items"' in html and "-0.5" in html
    assert all(p not in html for p in PAYLOADS)
    refused = compared.model_copy(
        update={
            "comparable": False,
            "metrics": [],
            "regressions": [],
            "changed": ["data:eval dddddddd->eeeeeeee", bad],
        }
    )
    with_refusal = results.model_copy(update={"baseline": refused})
    html = render_run(with_refusal, items, tmp_path / "b.html").read_text()
    assert 'id="baseline-refused"' in html and "data:eval dddddddd-&gt;eeeeeeee" in html
    assert 'id="baseline-items"' not in html and all(p not in html for p in PAYLOADS)
    none = render_run(results, items, tmp_path / "c.html").read_text()
    assert "Against the baseline" not in none


def test_sweep_page_counts_training_time_of_reused_trials(tmp_path: Path) -> None:
    res = sweep_results(scored=True)
    assert res.sweep is not None
    reused = res.sweep.model_copy(update={"wall_s": 0.4, "skipped": [t.name for t in res.sweep.trials]})
    html = render_sweep(res.model_copy(update={"sweep": reused}), tmp_path / "s.html", primary="exact_match")
    total = sum(t.wall_s for t in reused.trials)
    text = html.read_text(encoding="utf-8")
    assert f"{total:.1f} s of training in all" in text
    assert f"({len(reused.trials)} reused from an earlier run: this invocation took 0.4 s)" in text


def test_an_interval_over_too_few_items_is_shown_as_n_too_small(tmp_path: Path) -> None:
    one = Comparison(metric="exact_match", base="base", candidate="ft", base_value=0.0, candidate_value=1.0,
                     delta=1.0, ci_low=1.0, ci_high=1.0, n=1)
    many = one.model_copy(update={"metric": "json_valid", "ci_low": 0.25, "ci_high": 0.75, "n": 40})
    results = RunResults(suite="s", models={"base": {"exact_match": 0.0, "json_valid": 0.0},
                                            "ft": {"exact_match": 1.0, "json_valid": 1.0}},
                         comparisons=[one, many], candidate="ft")
    html = render_run(results, [], tmp_path / "index.html").read_text()
    rows = re.findall(r"<tr><td>(exact_match|json_valid)</td>.*?</tr>", html, re.S)
    assert rows == ["exact_match", "json_valid"]
    exact = re.search(r"<tr><td>exact_match</td>.*?</tr>", html, re.S)
    json_row = re.search(r"<tr><td>json_valid</td>.*?</tr>", html, re.S)
    assert exact is not None and json_row is not None
    assert "n too small (n=1)" in exact.group(0)
    assert '<td class="num">+1</td><td class="num">+1</td>' not in exact.group(0)  # no point "interval"
    assert "+0.25" in json_row.group(0) and "n too small" not in json_row.group(0)
