"""Plots for the report, as inline PNG data URIs (no network, nothing from data is interpreted as markup)."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from harness.results import Comparison, TrialResult


def _png(fig: plt.Figure) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


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
            label=f"{t.name} train",
        )
        if t.eval_loss:
            ax.plot(
                [p.step for p in t.eval_loss],
                [p.loss for p in t.eval_loss],
                color=color,
                linestyle="--",
                marker="o",
                markersize=3,
                label=f"{t.name} val",
            )
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _png(fig)


def delta_ci(comparisons: Sequence[Comparison]) -> str | None:
    rows = [c for c in comparisons if not c.metric.startswith("mmlu/")]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(rows) + 1.2))
    labels = [f"{c.metric} · {c.candidate}" for c in rows]
    for y, c in enumerate(rows):
        good = (c.ci_low > 0) if c.higher_is_better else (c.ci_high < 0)
        bad = (c.ci_high < 0) if c.higher_is_better else (c.ci_low > 0)
        color = "tab:green" if good else ("tab:red" if bad else "tab:gray")
        ax.plot([c.ci_low, c.ci_high], [y, y], color=color, linewidth=3)
        ax.plot([c.delta], [y], "o", color="black", markersize=4)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.set_xlabel("delta vs base (candidate - base), with confidence interval")
    ax.invert_yaxis()
    return _png(fig)


def heatmap(trials: Sequence[TrialResult], values: dict[str, float], metric: str) -> str | None:
    """The metric over r x lora_alpha (the best trial per cell)."""
    rs = sorted({int(t.config["r"]) for t in trials})
    alphas = sorted({float(t.config["lora_alpha"]) for t in trials})
    if len(rs) * len(alphas) < 2:
        return None
    grid = [[float("nan")] * len(rs) for _ in alphas]
    for t in trials:
        if t.name in values:
            i, j = alphas.index(float(t.config["lora_alpha"])), rs.index(int(t.config["r"]))
            v = values[t.name]
            grid[i][j] = v if grid[i][j] != grid[i][j] else max(grid[i][j], v)
    fig, ax = plt.subplots(figsize=(1.2 * len(rs) + 2.5, 0.8 * len(alphas) + 1.5))
    im = ax.imshow(grid, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(rs)), [str(r) for r in rs])
    ax.set_yticks(range(len(alphas)), [f"{a:g}" for a in alphas])
    ax.set_xlabel("r")
    ax.set_ylabel("lora_alpha")
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            if v == v:
                ax.text(j, i, f"{v:.3g}", ha="center", va="center", color="white", fontsize=8)
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
        ax.annotate(name, (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return _png(fig)
