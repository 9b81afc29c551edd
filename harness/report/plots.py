"""Plots for the report, as inline PNG data URIs (no network, nothing from data is interpreted as markup)."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from harness.results import Comparison, TrialResult, ci_note


def _png(fig: plt.Figure) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _label(text: str, width: int = 28) -> str:
    """A data string as plain plot text: shortened, and '$' escaped so mathtext never parses it."""
    short = text if len(text) <= width else text[: width - 1] + "…"
    return short.replace("$", r"\$")


def loss_curves(trials: Sequence[TrialResult]) -> str | None:
    if not any(t.train_loss for t in trials):
        return None
    fig, ax = plt.subplots(figsize=(7, 3.4))
    for i, t in enumerate(trials):
        color = f"C{i % 10}"
        ax.plot(
            [p.step for p in t.train_loss],
            [p.loss for p in t.train_loss],
            color=color,
            label=f"{_label(t.name)} train",
        )
        if t.eval_loss:
            ax.plot(
                [p.step for p in t.eval_loss],
                [p.loss for p in t.eval_loss],
                color=color,
                linestyle="--",
                marker="o",
                markersize=3,
                label=f"{_label(t.name)} val",
            )
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _png(fig)


def _verdict_color(c: Comparison) -> str:
    """Green when the CI says better, red when it says worse, grey when it straddles zero."""
    if ci_note(c.n):
        return "tab:gray"  # n too small: no interval says anything
    good = (c.ci_low > 0) if c.higher_is_better else (c.ci_high < 0)
    bad = (c.ci_high < 0) if c.higher_is_better else (c.ci_low > 0)
    return "tab:green" if good else ("tab:red" if bad else "tab:gray")


def delta_figure(comparisons: Sequence[Comparison], max_cols: int = 4) -> plt.Figure | None:
    """One panel per metric, candidates on a shared y axis, each panel on its own x scale.

    Metrics come in different units (a rate in [0, 1], a perplexity in the tens, MMLU in points):
    on one shared axis the small ones flatten to a dot at zero, hence the facets.
    """
    rows = [c for c in comparisons if not c.metric.startswith("mmlu/")]  # per-subject MMLU: too many
    if not rows:
        return None
    metrics = list(dict.fromkeys(c.metric for c in rows))
    candidates = list(dict.fromkeys(c.candidate for c in rows))
    nrows = -(-len(metrics) // max_cols)
    ncols = -(-len(metrics) // nrows)  # balanced rows: 5 metrics as 3 + 2, not 4 + 1
    fig, axes = plt.subplots(
        nrows,
        ncols,
        sharey=True,
        squeeze=False,
        figsize=(2.5 * ncols + 1.4, nrows * (0.3 * len(candidates) + 1.2)),
    )
    for k, metric in enumerate(metrics):
        _delta_panel(axes[k // ncols][k % ncols], [c for c in rows if c.metric == metric], candidates)
    for k in range(len(metrics), nrows * ncols):  # empty grid cells would read as missing data
        fig.delaxes(axes[k // ncols][k % ncols])
    first = axes[0][0]
    first.set_yticks(range(len(candidates)), [_label(c) for c in candidates])
    first.set_ylim(len(candidates) - 0.5, -0.5)  # first candidate on top, as in the table
    fig.supxlabel("delta vs base (candidate - base), bars: confidence interval", fontsize=8)
    return fig


def _delta_panel(ax: plt.Axes, comps: Sequence[Comparison], candidates: Sequence[str]) -> None:
    for c in comps:
        y = candidates.index(c.candidate)
        # A bootstrap CI need not contain the point estimate exactly; never pass negative bar lengths.
        err = [[max(c.delta - c.ci_low, 0.0)], [max(c.ci_high - c.delta, 0.0)]] if not ci_note(c.n) else None
        color = _verdict_color(c)
        ax.errorbar([c.delta], [y], xerr=err, fmt="o", color=color, ecolor=color, capsize=3, markersize=4)
    ax.axvline(0, color="black", linewidth=0.8)
    lo = min(min(c.ci_low, c.delta) for c in comps)
    hi = max(max(c.ci_high, c.delta) for c in comps)
    pad = 0.08 * ((max(hi, 0.0) - min(lo, 0.0)) or 1.0)
    ax.set_xlim(min(lo, 0.0) - pad, max(hi, 0.0) + pad)  # zero always in view: the reference
    arrow = "higher is better" if comps[0].higher_is_better else "lower is better"
    ax.set_title(f"{_label(comps[0].metric, 32)}\n({arrow})", fontsize=9)
    ax.tick_params(labelsize=8)  # every panel: the shared y labels show on each row's first panel
    ax.grid(axis="x", alpha=0.3)


def delta_ci(comparisons: Sequence[Comparison]) -> str | None:
    fig = delta_figure(comparisons)
    return None if fig is None else _png(fig)


def heatmap(
    trials: Sequence[TrialResult], values: dict[str, float], metric: str, *, higher_is_better: bool = True
) -> str | None:
    """The metric over r x lora_alpha (the best trial per cell)."""
    rs = sorted({int(t.config["r"]) for t in trials})
    alphas = sorted({float(t.config["lora_alpha"]) for t in trials})
    if len(rs) * len(alphas) < 2 or not any(t.name in values for t in trials):  # an empty grid says nothing
        return None
    best = max if higher_is_better else min
    grid = [[float("nan")] * len(rs) for _ in alphas]
    for t in trials:
        if t.name in values:
            i, j = alphas.index(float(t.config["lora_alpha"])), rs.index(int(t.config["r"]))
            v = values[t.name]
            grid[i][j] = v if grid[i][j] != grid[i][j] else best(grid[i][j], v)
    fig, ax = plt.subplots(figsize=(1.2 * len(rs) + 2.5, 0.8 * len(alphas) + 1.5))
    # bright = better whichever way the metric points
    im = ax.imshow(grid, cmap="viridis" if higher_is_better else "viridis_r", aspect="auto")
    ax.set_xticks(range(len(rs)), [str(r) for r in rs])
    ax.set_yticks(range(len(alphas)), [f"{a:g}" for a in alphas])
    ax.set_xlabel("r")
    ax.set_ylabel("lora_alpha")
    finite = [v for row in grid for v in row if v == v]
    lo, hi = min(finite), max(finite)  # imshow's own colour scale: NaN cells are left out of it too
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            if v == v:
                # dark text on the light end of viridis, white on the dark end: readable on every cell
                light = sum(im.cmap((v - lo) / (hi - lo) if hi > lo else 0.5)[:3]) / 3 > 0.5
                ax.text(j, i, f"{v:.3g}", ha="center", va="center", color="black" if light else "white")
    fig.colorbar(im, ax=ax, label=metric)
    return _png(fig)


def pareto(
    points: Sequence[tuple[str, float, float]], xlabel: str, ylabel: str, front: set[str]
) -> str | None:
    if len(points) < 2:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for name, x, y in points:
        on = name in front
        ax.scatter([x], [y], color="tab:orange" if on else "tab:blue", s=40 if on else 20)
        ax.annotate(_label(name), (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return _png(fig)
