"""The CLI's CI outputs (``--junit``, ``--summary-md``) and ``harness init``; see :mod:`harness.cli`.

Both outputs read the results a command just wrote (``results.json`` and
``items.jsonl`` of a run, the audit result of ``harness audit``): no model runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from harness.results import AuditResult, RunResults


def _printed(paths: list[Path]) -> None:
    from rich.markup import escape

    from harness.progress import verdict

    for path in paths:
        verdict(f"wrote {escape(str(path))}")  # where the CI outputs are: shown with --quiet too


def run_outputs(args: argparse.Namespace, results: RunResults, out: Path,
                tolerance: Mapping[str, float]) -> None:
    """``--junit`` and ``--summary-md`` for ``harness run`` / ``harness eval``."""
    from harness.report.cases import run_cases
    from harness.report.junit import write_junit
    from harness.report.markdown import run_summary, write_summary
    from harness.results import load_items

    written = []
    if getattr(args, "junit", None):
        written.append(write_junit(run_cases(results, tolerance), Path(args.junit), suite=results.suite))
    if getattr(args, "summary_md", None):
        items_path = out / "items.jsonl"
        items = load_items(items_path) if items_path.is_file() else []
        text = run_summary(results, items, report=str(out / "index.html"))
        written += write_summary(text, Path(args.summary_md))
    _printed(written)


def audit_outputs(args: argparse.Namespace, result: AuditResult, out: Path, title: str) -> None:
    """``--junit`` and ``--summary-md`` for ``harness audit``."""
    from harness.report.cases import audit_cases
    from harness.report.junit import write_junit
    from harness.report.markdown import audit_summary, write_summary

    written = []
    if args.junit:
        written.append(write_junit(audit_cases(result), Path(args.junit), suite=title))
    if args.summary_md:
        text = audit_summary(result, title=title, report=str(out / "audit.html"))
        written += write_summary(text, Path(args.summary_md))
    _printed(written)


def cmd_init(args: argparse.Namespace) -> int:
    """``harness init``: write a suite; exit 2 (one line) when a file it would write exists."""
    from harness.progress import line
    from harness.scaffold import init_suite

    init_suite(model=args.model, train=Path(args.train), out=Path(args.out),
               eval=Path(args.eval) if args.eval else None,
               general=Path(args.general) if args.general else None, say=line)
    return 0


__all__ = ["audit_outputs", "cmd_init", "run_outputs"]
