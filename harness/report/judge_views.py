"""What the report's judge section shows, derived from ``results.judges`` only (no judge is called).

Per judge: backend, model, rubric, items, the scores (mean and 95% interval per model) or
the win rate (with its interval, wins/ties/losses, position consistency), agreement with
its anchors, failures and unparseable counts, requests, cache hits, cost, and whether its
figures can be trusted (``JudgeRun.problem``). Then the judgements without a verdict, with
their reasons, so a reader sees what went wrong without opening results.json.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.judge.results import JudgeReport, JudgeRun, ModelScore, PairwiseStats

SHOWN_PROBLEMS = 20  # judgements without a verdict listed per judge


@dataclass(frozen=True)
class JudgeRow:
    name: str
    problem: str | None
    backend: str
    model: str
    rubric: str
    protocol: str
    items: int
    figures: list[str]  # one line per judged model (pointwise) or candidate (pairwise)
    calibration: str
    failed: int
    unparseable: int
    requests: int
    cache_hits: int
    cost: str


@dataclass(frozen=True)
class ProblemRow:
    judge: str
    item_id: str
    model: str
    status: str
    reason: str
    raw: str


def _interval(low: float | None, high: float | None, fmt: str) -> str:
    return f" [{fmt.format(low)}, {fmt.format(high)}]" if low is not None and high is not None else ""


def _score_line(model: str, s: ModelScore) -> str:
    if s.mean is None:
        return f"{model}: no score (n 0)"
    return f"{model}: mean {s.mean:.2f}{_interval(s.ci_low, s.ci_high, '{:.2f}')} (n {s.n})"


def _pairwise_line(candidate: str, p: PairwiseStats) -> str:
    if p.win_rate is None:
        return f"{candidate} vs base: no pair judged (n 0)"
    consistency = ""
    if p.position_consistency is not None:
        consistency = f", position consistency {p.position_consistency:.2f}"
    return (f"{candidate} vs base: win rate {p.win_rate:.3f}"
            f"{_interval(p.win_rate_ci_low, p.win_rate_ci_high, '{:.3f}')} "
            f"({p.wins} W / {p.ties} T / {p.losses} L, n {p.n}){consistency}")


def _calibration(run: JudgeRun) -> str:
    c = run.calibration
    if c is None:
        return ""
    kappa = f"kappa {c.kappa:.2f}" if c.kappa is not None else "kappa undefined"
    return f"{kappa} on {c.n} anchors"


def judge_rows(report: JudgeReport | None) -> list[JudgeRow]:
    rows = []
    for run in report.runs if report else []:
        figures = ([_score_line(m, s) for m, s in run.scores.items()] if run.protocol == "pointwise"
                   else [_pairwise_line(c, p) for c, p in run.pairwise.items()])
        rows.append(JudgeRow(
            name=run.name, problem=run.problem, backend=run.backend, model=run.model,
            rubric=f"{run.rubric} v{run.rubric_version}", protocol=run.protocol, items=run.items,
            figures=figures, calibration=_calibration(run), failed=run.failed, unparseable=run.unparseable,
            requests=run.requests, cache_hits=run.cache_hits,
            cost="" if run.cost_usd is None else f"${run.cost_usd:.4f}"))
    return rows


def judge_problems(report: JudgeReport | None, limit: int = SHOWN_PROBLEMS) -> list[ProblemRow]:
    """The first ``limit`` judgements without a verdict of each judge, failures first."""
    rows: list[ProblemRow] = []
    for run in report.runs if report else []:
        bad = sorted((v for v in run.verdicts if v.status != "ok"), key=lambda v: v.status != "error")
        rows += [ProblemRow(run.name, v.item_id, v.model, v.status, v.reason, v.raw) for v in bad[:limit]]
    return rows
