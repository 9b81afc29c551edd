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
from typing import TYPE_CHECKING, Any

import pytest

from harness.config import SuiteConfig
from harness.errors import HarnessError
from harness.results import AuditResult, RunResults
from harness.suite import load_suite

if TYPE_CHECKING:  # harness.report imports matplotlib: not at every pytest start
    from harness.report.cases import Case

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
        from harness.report.cases import run_cases

        try:
            suite = load_suite(self.path)
            results = run_once(self.config, suite)
        except HarnessError as exc:
            raise self.CollectError(str(exc)) from None
        for case in run_cases(results, suite.score.tolerance):
            yield CaseItem.from_parent(self, name=case.name, case=case)


class HarnessFailure(Exception):
    """A suite item failed; the message says why (no traceback)."""


class CaseItem(pytest.Item):
    """One audit check, gate or comparison; the verdict is :func:`harness.report.cases.run_cases`'s."""

    def __init__(self, *, case: Case, **kw: Any) -> None:
        super().__init__(**kw)
        self.case = case

    def runtest(self) -> None:
        if self.case.outcome == "skip":
            pytest.skip(self.case.message)
        if self.case.outcome == "fail":
            raise HarnessFailure(self.case.message)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, HarnessFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name


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
