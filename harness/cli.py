"""The ``harness`` command's subcommands: init, run, audit, sweep, eval, report, export, baseline.

The parser (every option, its help and the examples) is :mod:`harness.cli_parser`;
the CI outputs and ``init`` are in :mod:`harness.cli_ci`. Exit codes: 0 pass; 1 a
gate failed (or the audit found errors); 2 bad input, usage, or a crash. A
:class:`HarnessError` prints one line; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from harness.cli_audit import check_params, clean_request
from harness.errors import BaselineError, ConfigError, DataError, HarnessError
from harness.paths import shown

if TYPE_CHECKING:
    from pydantic import BaseModel

    from harness.audit_run import Review
    from harness.results import BaselineComparison, ItemScore, RunResults
    from harness.templates.serving import ServingTemplate

EXIT_PASS, EXIT_FAIL, EXIT_BAD_INPUT = 0, 1, 2


def _out(args: argparse.Namespace, default: Path) -> Path:
    return Path(args.out) if args.out else default


def _locked(out: Path, args: argparse.Namespace) -> AbstractContextManager[None]:
    """The output folder's lock for this command (a second harness on ``out`` is refused, naming this one)."""
    from harness.lock import output_lock

    return output_lock(out, f"harness {args.command}")


def cmd_run(args: argparse.Namespace) -> int:
    from harness.suite import load_suite

    suite = load_suite(args.suite)  # validate input before importing the heavy stack
    from harness.cli_ci import run_outputs
    from harness.pipeline import default_out, run_suite
    from harness.progress import verdict

    out = _out(args, default_out(suite))
    with _locked(out, args):
        results = run_suite(suite, out, progress=not args.quiet, executor=args.executor)
    _print_gates(results)
    run_outputs(args, results, out, suite.score.tolerance)
    verdict(f"report: [bold]{out / 'index.html'}[/bold]  results: {out / 'results.json'}")
    return EXIT_PASS if results.passed else EXIT_FAIL


def _print_gates(results: object) -> None:
    from harness.progress import console, verdict
    from harness.results import RunResults

    assert isinstance(results, RunResults)
    console.rule("[bold]gates")
    if not results.gates:
        verdict("[yellow]warning:[/] the suite defines no gates (and no judges): this run checked nothing")
        verdict("gates: [bold]PASSED (no gates: nothing was checked)[/bold]")
        return
    for g in results.gates:
        text = f"{'[green]PASS[/green]' if g.passed else '[red]FAIL[/red]'} {g.expression}: {g.message}"
        if g.passed:
            console.print(text)
        else:
            verdict(text)  # a failed gate is part of the verdict: shown with --quiet too
    passed = "[bold green]PASSED[/bold green]" if results.passed else "[bold red]FAILED[/bold red]"
    verdict(f"gates: {passed} (candidate: {results.candidate})")


def cmd_audit(args: argparse.Namespace) -> int:
    from harness.audit import AuditParams
    from harness.audit_run import audit_files
    from harness.progress import verdict

    # Every flag is checked before any work: the files load, the tokenizer loads, then the audit runs.
    serving = _serving_template(args)
    benchmarks = _name_dirs("--benchmark", args.benchmark or [], "mmlu=path/to/mmlu")
    params = _validated(AuditParams, {"--threshold": ("near_duplicate_threshold", args.threshold),
                                      "--max-seq-len": ("max_seq_len", args.max_seq_len),
                                      "--semantic": ("semantic", args.semantic or None),
                                      "--semantic-threshold": ("semantic_threshold", args.semantic_threshold),
                                      "--executor": ("executor", args.executor),
                                      "--ray-address": ("ray_address", args.ray_address),
                                      "--workers": ("workers", args.workers),
                                      "--check": ("checks", tuple(args.check or ()) or None),
                                      "--check-param": ("check_params", check_params(args.check_param or [],
                                                                                     args.check or []))})
    if args.semantic_threshold is not None and not args.semantic:
        raise ConfigError("--semantic-threshold needs --semantic")
    review = _review(args) if args.review_judge else None
    clean = clean_request(args)  # a clean folder that holds files is refused here
    tokenizer = None
    if args.tokenizer:
        from harness.models.loading import load_tokenizer
        from harness.models.templates import parse_choice

        tokenizer = load_tokenizer(args.tokenizer, parse_choice(args.chat_template))[0]
    out = _out(args, Path("reports") / "audit")
    with _locked(out, args):
        result = audit_files(out, Path(args.train), Path(args.eval) if args.eval else None, params=params,
                             data_format=args.format, benchmarks=benchmarks, tokenizer=tokenizer,
                             serving=serving, review=review, clean=clean,
                             title=f"Audit of {shown(args.train)}", progress=not args.quiet)
    verdict(
        f"audit: {result.count('error')} errors, {result.count('warning')} warnings, "
        f"{result.count('info')} notes -> {out / 'audit.json'}, {out / 'audit.html'}"
    )
    from harness.cli_ci import audit_outputs

    audit_outputs(args, result, out, title=str(args.train))
    return EXIT_FAIL if result.has_errors else EXIT_PASS


def _serving_template(args: argparse.Namespace) -> ServingTemplate | None:
    if not args.serving_template:
        return None
    if not args.tokenizer:
        raise ConfigError("--serving-template needs --tokenizer (the training side renders through it)")
    from harness.templates.serving import load_serving_template

    return load_serving_template(args.serving_template)


def _name_dirs(flag: str, specs: Sequence[str], example: str = "") -> dict[str, Path]:
    """``--benchmark``/``--adapter NAME=DIR`` flags as name -> folder (relative to the current directory)."""
    named = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            tail = f", e.g. {example}" if example else ""
            raise ConfigError(f"{flag} {spec!r}: expected NAME=DIR{tail}")
        named[name] = Path(path)
    return named


_M = TypeVar("_M", bound="BaseModel")


def _validated(model: type[_M], flags: dict[str, tuple[str, object]]) -> _M:
    """``model`` from the flags given (flag -> (field, value); None: not given, so the model's default):
    bounds and defaults are the model's own, and a value out of bounds is a ConfigError naming the flag."""
    from pydantic import ValidationError

    given = {field: value for field, value in flags.values() if value is not None}
    try:
        return model.model_validate(given)
    except ValidationError as exc:
        err = exc.errors()[0]
        flag = next((f for f, (field, _) in flags.items() if err["loc"] and field == err["loc"][0]), "")
        raise ConfigError(f"{flag} {err['input']!r}: {err['msg']}") from None


def _review(args: argparse.Namespace) -> Review:
    """The ``--review-judge`` file and ``--review-fraction``, checked before any work starts."""
    from harness.audit_run import Review
    from harness.config import ReviewConfig
    from harness.judge.backends.registry import check_backend
    from harness.judge.config import JudgeConfig
    from harness.yamlsafe import load_yaml_file

    path = Path(args.review_judge)
    raw = load_yaml_file(path, "judge file", kind="judge")  # bounded, and a ConfigError naming it
    try:
        cfg = JudgeConfig.model_validate(raw)
        check_backend(cfg.backend)
    except Exception as exc:
        raise ConfigError(f"invalid judge config: {str(exc).splitlines()[0]}", path=path) from None
    sample = _validated(ReviewConfig, {"--review-judge": ("judge", cfg.name),
                                       "--review-fraction": ("fraction", args.review_fraction)})
    return Review(cfg, sample)


def cmd_sweep(args: argparse.Namespace) -> int:
    from harness.suite import load_suite

    suite = load_suite(args.suite)
    from harness.pipeline import default_out
    from harness.progress import verdict
    from harness.report import render_sweep
    from harness.results import RunResults
    from harness.train.sweep import run_sweep

    out = _out(args, default_out(suite))
    with _locked(out, args):
        sweep = run_sweep(suite, out, executor=args.executor)
        # Not scored yet: the page shows config, cost and training; `harness eval` adds the metrics.
        render_sweep(
            RunResults(suite=suite.name, sweep=sweep), out / "sweep.html", primary=suite.score.primary_metric
        )
    verdict(f"sweep page: [bold]{out / 'sweep.html'}[/bold]")
    return EXIT_PASS


def cmd_eval(args: argparse.Namespace) -> int:
    from harness.suite import load_suite

    given = _name_dirs("--adapter", args.adapter or [])
    suite = load_suite(args.suite, adapters=list(given))  # input checked before the heavy scoring stack
    from harness.pipeline import cache_path, default_out, judge_and_finish
    from harness.progress import verdict
    from harness.results import load_audit, load_sweep
    from harness.score.engine import evaluate

    out = _out(args, default_out(suite))
    with _locked(out, args):
        sweep = load_sweep(out / "sweep.json") if (out / "sweep.json").is_file() else None
        # The sweep's adapters are found in the run folder, from whichever directory this runs in.
        adapters: dict[str, str | Path] = {**(sweep.adapters(out) if sweep else {}), **given}
        audit = load_audit(out / "audit.json") if (out / "audit.json").is_file() else None
        ev = evaluate(suite, adapters, cache_path=cache_path(out), progress=not args.quiet)
        results = judge_and_finish(suite, out, ev, audit=audit, sweep=sweep)
    _print_gates(results)
    from harness.cli_ci import run_outputs

    run_outputs(args, results, out, suite.score.tolerance)
    verdict(f"report: [bold]{out / 'index.html'}[/bold]")
    return EXIT_PASS if results.passed else EXIT_FAIL


def _load_run(folder: Path) -> tuple[RunResults, list[ItemScore]]:
    """A results folder's results.json and items.jsonl (absent items: none)."""
    from harness.results import load_items, load_results

    path = folder / "results.json"
    if not path.is_file():
        raise DataError("no results.json here (run `harness run` or `harness eval` first)", path=path)
    items_path = folder / "items.jsonl"
    return load_results(path), load_items(items_path) if items_path.is_file() else []


def _primary(results: RunResults) -> str:
    return str(results.meta.get("primary_metric", "exact_match"))  # older results.json lack it


def cmd_report(args: argparse.Namespace) -> int:
    from harness.progress import verdict
    from harness.report import render_run, render_sweep

    folder = Path(args.dir)
    results, items = _load_run(folder)
    primary = _primary(results)
    with _locked(folder, args):
        render_run(results, items, folder / "index.html", primary=primary)
        verdict(f"report: {folder / 'index.html'}")
        if results.sweep is not None:
            render_sweep(results, folder / "sweep.html", primary=primary)
            verdict(f"sweep comparison: {folder / 'sweep.html'}")
    return EXIT_PASS if results.passed else EXIT_FAIL


def cmd_export(args: argparse.Namespace) -> int:
    from harness.suite import load_suite

    suite = load_suite(args.suite)
    from rich.markup import escape

    from harness.data import load_records
    from harness.models.suite_base import suite_chat_template
    from harness.pipeline import default_out
    from harness.progress import verdict
    from harness.results import load_sweep
    from harness.train.merge import merge_adapter

    out = _out(args, default_out(suite))
    sweep = load_sweep(out / "sweep.json")
    trial = next((t for t in sweep.trials if t.name == args.trial), None)
    if trial is None:
        names = ", ".join(t.name for t in sweep.trials)
        raise ConfigError(f"no trial {args.trial!r} in {out / 'sweep.json'} (trials: {names})")
    sample = load_records(suite.resolve(suite.data.eval), suite.data.format)[: args.sample]
    check = merge_adapter(
        suite.resolve(suite.base.path),
        trial.adapter_dir(out),
        Path(args.to),
        chat_template=suite_chat_template(suite),
        stop_token_ids=suite.base.stop_token_ids or [],
        sample=sample,
        max_new_tokens=suite.score.max_new_tokens,
    )
    verdict(
        f"merged {trial.name} -> {args.to}: {check.same_outputs}/{check.samples} outputs identical "
        f"to the unmerged adapter, max logit diff {check.max_logit_diff:.2e}; reloaded from disk: "
        f"{check.exported_same_outputs}/{check.samples} identical"
    )
    if check.parity is not None:
        verdict(escape(check.parity.summary()))
    if not check.exported_ok:
        why = check.parity.summary() if check.parity is not None and not check.parity.ok else (
            f"{check.samples - check.exported_same_outputs} of {check.samples} outputs of the exported "
            f"folder differ from the unmerged adapter's")
        print(f"harness: error: {why}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_PASS


def cmd_baseline(args: argparse.Namespace) -> int:
    from harness.baseline import accept_baseline
    from harness.progress import console

    lock = accept_baseline(Path(args.dir), Path(args.to) if args.to else None)
    console.print(f"baseline accepted: {lock}")
    return EXIT_PASS


def cmd_baseline_compare(args: argparse.Namespace) -> int:
    """Print a results folder against a baseline: exit 0 when compared (regressions included: gates
    decide those), 2 when there is no baseline or it is refused as not comparable."""
    from harness.baseline import compare_to_baseline, default_lock, read_lock

    folder = Path(args.dir)
    results, items = _load_run(folder)
    lock = Path(args.lock) if args.lock else default_lock(folder)
    primary = args.primary or (results.baseline.primary_metric if results.baseline else _primary(results))
    comp = compare_to_baseline(read_lock(lock), results, items, run_dir=folder, primary=primary)
    if not comp.comparable:
        raise BaselineError(
            f"{lock}: not comparable: {', '.join(comp.changed)} changed since it was accepted",
            hint=f"run `{comp.accept_command}` to accept the change",
        )
    _print_baseline(comp)
    return EXIT_PASS


def _print_baseline(comp: BaselineComparison) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    def num(x: float | None, fmt: str = "{:.4g}") -> str:
        return "" if x is None else fmt.format(x)

    out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)  # the table is the output
    out.print(
        f"{escape(str(comp.candidate))} against baseline {escape(str(comp.baseline_candidate))} "
        f"({escape(comp.lock)}, accepted {escape(comp.accepted_at or 'at an unknown time')})"
    )
    table = Table("metric", "baseline", "current", "delta", "CI", "p", "regressed", "improved", "n")
    for m in comp.metrics:
        ci = f"[{m.ci_low:+.4g}, {m.ci_high:+.4g}]" if m.ci_low is not None and m.ci_high is not None else ""
        worse = m.delta != 0 and (m.delta > 0) != m.higher_is_better
        delta = f"[{'red' if worse else 'green'}]{m.delta:+.4g}[/]" if m.delta else "+0"
        table.add_row(escape(m.metric), num(m.baseline_value), num(m.current_value), delta, escape(ci),
                      num(m.p_value, "{:.3g}"), str(len(m.regressed)), str(len(m.improved)), str(m.n or ""))
    out.print(table)
    if comp.note:
        out.print(f"note: {escape(comp.note)}")
    if comp.regressions:
        ids = ", ".join(r.item_id for r in comp.regressions[:10])
        more = f" and {len(comp.regressions) - 10} more" if len(comp.regressions) > 10 else ""
        out.print(f"regressed on {escape(comp.primary_metric)}: {escape(ids)}{more}")


def build_parser() -> argparse.ArgumentParser:
    from harness.cli_ci import cmd_init
    from harness.cli_parser import build

    return build({"init": cmd_init, "run": cmd_run, "audit": cmd_audit, "sweep": cmd_sweep, "eval": cmd_eval,
                  "report": cmd_report, "export": cmd_export, "accept": cmd_baseline,
                  "compare": cmd_baseline_compare})


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2, --help exits 0
        return int(exc.code or 0)
    debug = bool(getattr(args, "debug", False)) or "--debug" in argv
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing at run time comes from a hub
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    func: Callable[[argparse.Namespace], int] = args.func
    from harness.progress import terminal

    try:
        with terminal(quiet=bool(getattr(args, "quiet", False)), debug=debug):
            return func(args)
    except HarnessError as exc:
        if debug:
            traceback.print_exc()
        print(f"harness: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("harness: interrupted; finished work is kept and a rerun resumes", file=sys.stderr)
        return 130
    except OSError as exc:  # a read-only or full disk, a vanished folder: what and where, in one line
        if debug:
            traceback.print_exc()
        where = f"{shown(exc.filename)}: " if exc.filename else ""
        print(f"harness: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # a crash is still one line (exit 2); --debug shows where
        if debug:
            traceback.print_exc()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(
            f"harness: internal error: {type(exc).__name__}: {first} (rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    raise SystemExit(main())
