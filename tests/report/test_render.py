"""Reports escape everything from data and models; checked as text and in a real headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness.report import render_audit, render_run
from harness.results import (
    AuditResult,
    CheckRun,
    Comparison,
    Finding,
    GateResult,
    ItemScore,
    LossPoint,
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


def trial(name: str, r: int) -> TrialResult:
    return TrialResult(
        name=name,
        config={"r": r, "lora_alpha": 2 * r, "target_modules": "all-linear", "learning_rate": 0.01},
        config_hash="h" + name,
        trainable_params=1000 * r,
        total_params=300000,
        trainable_share=1000 * r / 300000,
        train_loss=[LossPoint(step=s, loss=2.0 / s) for s in range(1, 20)],
        eval_loss=[LossPoint(step=s, loss=2.2 / s) for s in (5, 10, 15)],
        steps=19,
        train_tokens=5000,
        tokens_per_s=1000,
        wall_s=5.0,
        step_s=4.5,
        peak_mem_bytes=2**28,
        peak_mem_kind="rss",
        adapter_path="/tmp/x",
        overfitting=False,
    )


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


def test_no_script_runs_in_chromium(tmp_path: Path) -> None:
    exe = _chromium()
    results, items = hostile_results(passed=False)
    page = render_run(results, items, tmp_path / "index.html")
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [exe, *_chromium_args(profile), "--virtual-time-budget=3000", "--dump-dom", page.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
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
