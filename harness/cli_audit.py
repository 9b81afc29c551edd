"""The audit command's per-row check and clean-output options, and the summary line a clean prints."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import ConfigError

if TYPE_CHECKING:
    from harness.audit.clean_policy import CleanPolicy
    from harness.audit_run import CleanRequest


def add_clean_arguments(audit: argparse.ArgumentParser) -> None:
    audit.add_argument("--check", action="append", metavar="NAME|module:function",
                       help="also run this per-row check: a name, entry point or module:function, repeatable "
                            "(default: the built-in checks only)")
    audit.add_argument("--check-param", action="append", metavar="CHECK.PARAM=VALUE",
                       help="set a per-row check's parameter, the value is YAML, repeatable "
                            "(default: each check's own)")
    clean = audit.add_argument_group("clean output")
    clean.add_argument("--write-clean", metavar="DIR",
                       help="write the cleaned dataset, removed.jsonl and clean.json into DIR "
                            "(default: none)")
    clean.add_argument("--force", action="store_true",
                       help="write into a folder that holds files (default: refused)")
    clean.add_argument("--drop", metavar="CHECKS", help="comma-separated checks whose rows are dropped "
                       "(default: duplicates, leakage, contamination, empty_target, placeholder_output)")
    clean.add_argument("--also-drop", metavar="CHECKS",
                       help="checks dropped on top of --drop or the defaults (default: none)")
    clean.add_argument("--keep", choices=["first", "longest", "shortest"], default="first",
                       help="which member of a duplicate cluster stays (default: first)")
    clean.add_argument("--leak-side", choices=["train", "eval"], default="train",
                       help="which side of a train/eval leak is dropped, eval writes eval.<ext> too "
                            "(default: train)")
    clean.add_argument("--clean-eval", action="store_true",
                       help="also write a cleaned eval split (default: off)")
    clean.add_argument("--no-verify", action="store_true",
                       help="do not re-audit the cleaned rows (default: they are re-audited)")


def clean_policy(args: argparse.Namespace) -> CleanPolicy:
    from harness.audit.clean_policy import CleanPolicy

    def names(value: str | None) -> tuple[str, ...] | None:
        return None if value is None else tuple(n.strip() for n in value.split(",") if n.strip())

    try:
        return CleanPolicy(drop=names(args.drop), also_drop=names(args.also_drop) or (), keep=args.keep,
                           leak_side=args.leak_side, eval=args.clean_eval, verify=not args.no_verify)
    except ValueError as exc:  # pydantic's ValidationError: the first message, one line
        msg = str(exc).splitlines()
        detail = next((m.strip() for m in msg if "unknown check" in m), msg[-1].strip())
        detail = re.sub(r"\s*\[type=.*$", "", detail).removeprefix("Value error, ")
        raise ConfigError(f"--drop/--also-drop: {detail}") from None


def check_params(specs: list[str], checks: list[str]) -> dict[str, dict[str, object]]:
    """``--check-param repetition.min_words=80`` -> {"repetition": {"min_words": 80}} (values are YAML).

    The ``--check`` names and the parameters are validated here, before any work.
    """
    from harness.audit.checks import validate
    from harness.yamlsafe import load_yaml

    out: dict[str, dict[str, object]] = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        check, dot, name = key.partition(".")
        if not sep or not dot or not check or not name:
            raise ConfigError(f"--check-param {spec!r}: expected CHECK.PARAM=VALUE "
                              "(e.g. repetition.min_words=80)")
        out.setdefault(check, {})[name] = load_yaml(value, path=f"--check-param {key}")
    validate(checks, out)
    return out


def clean_request(args: argparse.Namespace) -> CleanRequest | None:
    """``--write-clean DIR`` and the policy flags; the folder is checked now, before any work."""
    if not args.write_clean:
        return None
    from harness.audit.clean import destination
    from harness.audit_run import CleanRequest

    folder = Path(args.write_clean)
    if args.out and Path(args.out).resolve() == folder.resolve():
        raise ConfigError("--write-clean: use another folder than --out (it holds audit.json)")
    policy = clean_policy(args)
    destination(folder, args.train, args.eval, policy, args.force)
    return CleanRequest(folder, policy, force=args.force)
