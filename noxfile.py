"""Sessions: tests, lint, typecheck, demo, bench. ``nox -s demo`` then ``nox -s tests`` on a fresh machine."""

from __future__ import annotations

import nox

nox.options.reuse_venv = "yes"
nox.options.default_venv_backend = "venv"

# torch is pinned to the CPU wheel our machines carry (any other spec pulls gigabytes of CUDA).
DEV = ["-e", ".[dev]"]


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (under 15 minutes on 2 CPU cores)."""
    session.install(*DEV)
    session.run(
        "pytest",
        "-q",
        "--durations=15",
        *session.posargs,
        env={"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"},
    )


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", "harness", "tests", "bench", "noxfile.py", "suites")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install(*DEV)
    session.run("mypy")


@nox.session
def demo(session: nox.Session) -> None:
    """The demo suite end to end, offline: audit, QLoRA sweep, scoring, report, gates."""
    session.install(*DEV)
    session.run(
        "harness",
        "run",
        "suites/demo.yaml",
        *session.posargs,
        env={"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"},
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: ``nox -s bench -- NAME [--json]`` (they may read ../shared/realdata)."""
    session.install(*DEV)
    session.run("python", "bench/run.py", *(session.posargs or ["--help"]))
