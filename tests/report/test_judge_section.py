"""The report's judge section: figures with intervals, failures with reasons, everything escaped.

The judge runs are real (run_judges with in-process backends, no server), so the section is
tested on what the judge package really produces.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from harness.gate import evaluate_gates
from harness.judge import JudgeConfig, JudgeItem, JudgeReport, run_judges
from harness.judge.backends import Completion, FatalError
from harness.report import render_run
from harness.results import RunResults

SCRIPT = "<script>document.documentElement.setAttribute('data-pwned','judge')</script>"
IMG = "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','img')\">"


class Scripted:
    """Answers from the request: a rating for pointwise, the longer response for pairwise."""

    def __init__(self, config: JudgeConfig) -> None:
        self.config = config

    async def complete(self, system: str, user: str, max_tokens: int) -> Completion:
        if "[Response of assistant A]" in user:
            a = user.split("[Response of assistant A]")[1].split("[End of response of assistant A]")[0]
            b = user.split("[Response of assistant B]")[1].split("[End of response of assistant B]")[0]
            return Completion(f"{SCRIPT}\n[[{'A' if len(a) > len(b) else 'B'}]]", 50, 5)
        if "ITEM-2:" in user:
            return Completion(f"{SCRIPT} no verdict here", 50, 5)  # unparseable, with a payload
        return Completion(f"{SCRIPT}\nRating: [[{2 + len(user) % 3}]]", 50, 5)

    async def aclose(self) -> None:
        return None


class Revoked(Scripted):
    async def complete(self, system: str, user: str, max_tokens: int) -> Completion:
        raise FatalError(f"HTTP 401: key revoked {IMG}")


def make_items(n: int) -> list[JudgeItem]:
    return [JudgeItem(item_id=str(i), prompt=f"ITEM-{i}: name a colour ({i})", reference="blue",
                      outputs={"base": "Blue." * (1 + i % 2), "ft": "The sky is blue. " * (1 + i % 3)})
            for i in range(n)]


def judges(tmp_path: Path) -> JudgeReport:
    def cfg(name: str, **fields: object) -> JudgeConfig:
        return JudgeConfig.model_validate({"name": name, "backend": "openai", "model": f"judge {IMG}",
                                           "rubric": "helpfulness", "unparseable_retries": 0, **fields})

    configs = [cfg("helpful"), cfg("pair", rubric="pairwise", protocol="pairwise"), cfg("revoked")]
    backends = {c.name: (Revoked if c.name == "revoked" else Scripted)(c) for c in configs}
    return run_judges(configs, make_items(12), cache_path=tmp_path / "c.db", progress=False,
                      backend=backends)


class Cells(HTMLParser):
    """The text of each cell of one table (by id), row by row."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.inside, self.cell = table_id, False, None
        self.rows: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.inside = self.inside or (tag == "table" and dict(attrs).get("id") == self.table_id)
        if self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag == "td":
            self.cell = ""  # type: ignore[assignment]
        elif self.cell is not None and tag == "br":
            self.cell += " | "

    def handle_endtag(self, tag: str) -> None:
        if self.inside and tag == "td" and self.cell is not None:
            self.rows[-1].append(self.cell.strip())
            self.cell = None
        self.inside = self.inside and tag != "table"

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell += data


def rows(html: str, table_id: str) -> list[list[str]]:
    parser = Cells(table_id)
    parser.feed(html)
    return [r for r in parser.rows if r]


def test_the_judge_section_shows_figures_failures_and_cost(tmp_path: Path) -> None:
    report = judges(tmp_path)
    results = RunResults(suite="s", models={"base": {}, "ft": {}}, candidate="ft", judges=report)
    results = results.model_copy(update={"gates": evaluate_gates(results, ["judge.pair.win_rate >= 0.5"])})
    html = render_run(results, [], tmp_path / "index.html").read_text(encoding="utf-8")
    assert 'id="judges"' in html and 'id="judges-failed"' in html
    table = {r[0]: r for r in rows(html, "judge-table")}
    helpful, pair, revoked = table["helpful"], table["pair"], table["revoked"]
    assert helpful[1] == "FAILED"  # item 2's two answers had no verdict, and max_failed is 0
    base, ft = report.run("helpful").scores["base"], report.run("helpful").scores["ft"]
    assert base.ci_low is not None and base.ci_high is not None and base.n == 11
    assert f"base: mean {base.mean:.2f} [{base.ci_low:.2f}, {base.ci_high:.2f}] (n 11)" in helpful[7]
    assert f"ft: mean {ft.mean:.2f}" in helpful[7]
    assert helpful[9:11] == ["0", "2"]  # failed, unparseable
    stats = report.run("pair").pairwise["ft"]
    assert pair[1] == "ok" and stats.win_rate_ci_low is not None
    interval = f"[{stats.win_rate_ci_low:.3f}, {stats.win_rate_ci_high:.3f}]"
    counts = f"({stats.wins} W / {stats.ties} T / {stats.losses} L, n 12)"
    assert f"ft vs base: win rate {stats.win_rate:.3f} {interval} {counts}" in pair[7]
    assert revoked[1] == "FAILED" and revoked[9] == "24" and revoked[11] == "1"  # one request, then stopped
    assert pair[2] == helpful[2] == f"{__name__}:Scripted"  # the object that judged, not the config's name
    problems = rows(html, "judge-problem-table")
    assert sum(r[0] == "revoked" for r in problems) == 20  # the first 20 of its 24, with the reason
    assert all("key revoked" in r[4] for r in problems if r[0] == "revoked")
    assert [(r[1], r[3]) for r in problems if r[0] == "helpful"] == [("2", "unparseable")] * 2


def test_everything_a_judge_said_is_escaped(tmp_path: Path) -> None:
    results = RunResults(suite="s", models={"base": {}, "ft": {}}, candidate="ft", judges=judges(tmp_path))
    html = render_run(results, [], tmp_path / "index.html").read_text(encoding="utf-8")
    assert SCRIPT not in html and IMG not in html
    assert "&lt;script&gt;document.documentElement" in html  # the judge's answer, shown as text
    assert "key revoked &lt;img src=x" in html and "judge &lt;img src=x" in html


def test_no_judges_no_section(tmp_path: Path) -> None:
    html = render_run(RunResults(suite="s"), [], tmp_path / "index.html").read_text(encoding="utf-8")
    assert 'id="judges"' not in html
