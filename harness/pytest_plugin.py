"""pytest plugin (``pytest11`` entry point): a thin adapter over the library.

- ``pytest suites/demo.yaml`` collects a suite file named on the command line
  (and only then: the plugin does nothing unless used) as test items: one per
  audit check, per gate and per comparison. The run happens once; its report
  goes to ``--harness-out DIR`` (default ``reports/<suite>``).
- Fixtures for Python tests: ``harness_suite``, ``harness_results`` (run once
  per session), ``harness_audit``; the suite comes from ``--harness-suite``
  or the ``harness_suite`` ini option.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.config import SuiteConfig
from harness.errors import HarnessError
from harness.gate import comparison_outcome
from harness.results import AuditResult, RunResults
from harness.suite import load_suite

_RUNS: dict[str, RunResults] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "finetune-harness")
    group.addoption("--harness-out", help="folder for results and the HTML report")
    group.addoption("--harness-suite", help="suite file for the harness_* fixtures")
    group.addoption("--harness-executor", default="local", choices=["local", "ray"])
    group.addoption("--harness-debug", action="store_true",
                    help="let the libraries print their own bars, logs and warnings during the run")
    parser.addini("harness_suite", "suite file for the harness_* fixtures", default="")


def _out(config: pytest.Config, suite: SuiteConfig) -> Path:
    from harness.pipeline import default_out

    opt = config.getoption("--harness-out")
    return Path(opt) if opt else default_out(suite)


def run_once(config: pytest.Config, suite: SuiteConfig) -> RunResults:
    """Run the suite at most once per pytest session."""
    from harness.pipeline import run_suite
    from harness.progress import terminal

    key = str(Path(suite.source).resolve())
    if key not in _RUNS:
        executor = config.getoption("--harness-executor")
        with terminal(debug=bool(config.getoption("--harness-debug"))):
            _RUNS[key] = run_suite(suite, _out(config, suite), executor=executor)
    return _RUNS[key]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix in {".yaml", ".yml"} and parent.session.isinitpath(file_path):
        return SuiteFile.from_parent(parent, path=file_path)
    return None


class SuiteFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        try:
            suite = load_suite(self.path)
            results = run_once(self.config, suite)
        except HarnessError as exc:
            raise self.CollectError(str(exc)) from None
        if results.audit is not None:
            for check in results.audit.checks:
                yield CheckItem.from_parent(
                    self, name=f"audit[{check.check}]", audit=results.audit, check=check.check
                )
        for i, gate in enumerate(results.gates):
            yield GateItem.from_parent(self, name=f"gate[{gate.expression}]", results=results, index=i)
        for c in results.comparisons:
            yield ComparisonItem.from_parent(
                self,
                name=f"compare[{c.metric} {c.candidate}]",
                results=results,
                metric=c.metric,
                candidate=c.candidate,
                tolerance=suite.score.tolerance.get(c.metric.split("/")[0], 0.0),
            )


class HarnessFailure(Exception):
    """A suite item failed; the message says why (no traceback)."""


class _Item(pytest.Item):
    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, HarnessFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name


class CheckItem(_Item):
    def __init__(self, *, audit: AuditResult, check: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.audit, self.check = audit, check

    def runtest(self) -> None:
        errors = [f for f in self.audit.findings if f.check == self.check and f.severity == "error"]
        if errors:
            lines = "\n".join(f"  - {f.message}" for f in errors[:10])
            raise HarnessFailure(f"audit check {self.check}: {len(errors)} error findings\n{lines}")


class GateItem(_Item):
    def __init__(self, *, results: RunResults, index: int, **kw: Any) -> None:
        super().__init__(**kw)
        self.gate = results.gates[index]

    def runtest(self) -> None:
        if not self.gate.passed:
            raise HarnessFailure(f"gate {self.gate.expression!r}: {self.gate.message}")


class ComparisonItem(_Item):
    """Base vs one adapter on one metric; the verdict is :func:`harness.gate.comparison_outcome`'s."""

    def __init__(
        self, *, results: RunResults, metric: str, candidate: str, tolerance: float, **kw: Any
    ) -> None:
        super().__init__(**kw)
        self.results = results
        self.comparison = results.delta(metric, candidate)
        self.tolerance = tolerance

    def runtest(self) -> None:
        outcome, why = comparison_outcome(self.results, self.comparison, self.tolerance)
        if outcome == "skip":
            pytest.skip(why)
        if outcome == "fail":
            raise HarnessFailure(why)


def _suite_path(request: pytest.FixtureRequest) -> Path:
    opt = request.config.getoption("--harness-suite") or request.config.getini("harness_suite")
    if not opt:
        pytest.fail(
            "harness fixtures need --harness-suite FILE or the harness_suite ini option", pytrace=False
        )
    return Path(str(opt))


@pytest.fixture(scope="session")
def harness_suite(request: pytest.FixtureRequest) -> SuiteConfig:
    return load_suite(_suite_path(request))


@pytest.fixture(scope="session")
def harness_results(request: pytest.FixtureRequest, harness_suite: SuiteConfig) -> RunResults:
    return run_once(request.config, harness_suite)


@pytest.fixture(scope="session")
def harness_audit(harness_results: RunResults) -> AuditResult:
    if harness_results.audit is None:
        pytest.fail("the suite's run has no audit (audit.enabled is false)", pytrace=False)
    return harness_results.audit
