"""The ``harness`` command line: every subcommand and option, with a one-line help and its default.

Each subcommand's help ends with two examples. The texts are written for a
terminal (no reStructuredText): ``tests/test_cli_help.py`` walks every parser and
fails on an option without help, a subcommand without two examples, or markup.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping

from harness.cli_audit import add_clean_arguments

Handler = Callable[[argparse.Namespace], int]
Subs = argparse._SubParsersAction  # what add_subparsers returns (argparse has no public name for it)

DESCRIPTION = """\
harness: is this LoRA/QLoRA fine-tune good enough to ship, and is its data fit to train on?

Start with `harness init` to write a suite for your own model and data, then `harness run SUITE`.
Exit codes: 0 every gate passed (audit: no error finding); 1 a gate failed (audit: an error
finding); 2 bad input, usage or a crash (one line; --debug shows the traceback).
"""

EXAMPLES = {
    "init": ["harness init --model suites/demo/model --train suites/demo/train.jsonl --out my/suite.yaml",
             "harness init --model ./base --train data/train.jsonl --eval data/eval.jsonl --out suite.yaml"],
    "run": ["harness run suites/demo.yaml",
            "harness run my/suite.yaml --out reports/ci --junit reports/ci/junit.xml --summary-md sum.md"],
    "audit": ["harness audit data/train.jsonl --eval data/eval.jsonl --semantic --write-clean clean/",
              "harness audit train.jsonl --tokenizer ./base --benchmark mmlu=suites/demo/mmlu --junit a.xml"],
    "sweep": ["harness sweep suites/demo.yaml",
              "harness sweep my/suite.yaml --out reports/my --executor ray"],
    "eval": ["harness eval suites/demo.yaml",
             "harness eval my/suite.yaml --adapter mine=out/adapter --summary-md summary.md"],
    "report": ["harness report reports/demo",
               "harness report reports/ci --debug"],
    "export": ["harness export suites/demo.yaml --trial r8-attn --to merged/",
               "harness export my/suite.yaml --trial r8 --to merged/ --sample 32"],
    "baseline": ["harness baseline accept reports/demo",
                 "harness baseline compare reports/demo --lock baseline.lock.json"],
    "accept": ["harness baseline accept reports/demo",
               "harness baseline accept reports/ci --to ci/baseline.lock.json"],
    "compare": ["harness baseline compare reports/demo",
                "harness baseline compare reports/ci --lock ci/baseline.lock.json --primary json_valid"],
}


def epilog(name: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[name])


def _sub(sub: Subs, name: str, help: str,
         handler: Handler | None) -> argparse.ArgumentParser:
    sp: argparse.ArgumentParser = sub.add_parser(
        name, help=help, description=help[0].upper() + help[1:] + ".", epilog=epilog(name),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    if handler is not None:
        sp.set_defaults(func=handler)
    return sp


def _debug(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--debug", action="store_true",
                    help="show tracebacks and the libraries' own bars, logs and warnings (default: off)")


def _common(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--out", metavar="DIR", help="output folder (default: reports/<suite name>/)")
    sp.add_argument("--quiet", action="store_true",
                    help="print only the verdict and where the report is (default: off)")
    _debug(sp)


def _executor(sp: argparse.ArgumentParser, what: str) -> None:
    sp.add_argument("--executor", choices=["local", "ray"], default="local",
                    help=f"where {what} run: local processes or a Ray cluster (default: local)")


def _ci(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--junit", metavar="FILE",
                    help="also write JUnit XML: one testcase per audit check, gate and comparison (default: "
                         "none)")
    sp.add_argument("--summary-md", metavar="FILE",
                    help="also write a Markdown verdict, appended to $GITHUB_STEP_SUMMARY when set "
                         "(default: none)")


def _init(sub: Subs, h: Mapping[str, Handler]) -> None:
    sp = _sub(sub, "init", "write a commented, runnable suite for your own base model and data",
              h.get("init"))
    sp.add_argument("--model", required=True, metavar="DIR_OR_ID",
                    help="base model: a local Hugging Face folder, or a hub id in the local cache (required)")
    sp.add_argument("--train", required=True, metavar="FILE",
                    help="training data: .jsonl, .json, .csv or .parquet, any supported format (required)")
    sp.add_argument("--eval", metavar="FILE",
                    help="held-out data (default: hold out 10%% of --train, near duplicates on one side)")
    sp.add_argument("--general", metavar="FILE",
                    help="general text for the forgetting canary (default: texts sampled from the base)")
    sp.add_argument("--out", metavar="FILE", default="suite.yaml",
                    help="the suite file to write; never overwritten (default: suite.yaml)")
    _debug(sp)


def _audit(sub: Subs, h: Mapping[str, Handler]) -> None:
    sp = _sub(sub, "audit", "audit a dataset: duplicates, leakage, contamination, targets, templates",
              h.get("audit"))
    sp.add_argument("train", help="training data file (.jsonl, .json, .csv, .parquet)")
    sp.add_argument("--eval", metavar="FILE", help="held-out data: enables the leakage checks (default: "
                                                   "none)")
    sp.add_argument("--benchmark", action="append", metavar="NAME=DIR",
                    help="benchmark to check contamination against, repeatable, e.g. mmlu=DIR (default: "
                         "none)")
    sp.add_argument("--tokenizer", metavar="DIR",
                    help="check the chat template and loss mask against this tokenizer (default: skipped)")
    sp.add_argument("--chat-template", metavar="CHOICE",
                    help="'plain', a .jinja file, or clone:DIR_OR_FILE for --tokenizer "
                         "(default: the tokenizer's own)")
    sp.add_argument("--serving-template", metavar="FILE",
                    help="compare training renders with a .jinja, Ollama Modelfile or Go template (default: "
                         "none)")
    sp.add_argument("--max-seq-len", type=int, metavar="N",
                    help="token limit for the truncation checks (default: no limit)")
    sp.add_argument("--threshold", type=float, metavar="J",
                    help="near-duplicate Jaccard threshold on word 5-gram shingles (default: 0.8)")
    sp.add_argument("--semantic", action="store_true",
                    help="also find paraphrase leakage and duplicates with MiniLM, extra 'semantic' "
                         "(default: off)")
    sp.add_argument("--semantic-threshold", type=float, metavar="COS",
                    help="cosine similarity a paraphrase needs, with --semantic (default: 0.78)")
    sp.add_argument("--format", default="auto",
                    help="alpaca, messages, conversations, prompt_completion or text (default: auto-detect)")
    _executor(sp, "the scans and the near-duplicate search")
    sp.add_argument("--ray-address", metavar="ADDR",
                    help="with --executor ray: the Ray cluster to use (default: RAY_ADDRESS, else a local "
                         "instance)")
    sp.add_argument("--workers", type=int, metavar="N",
                    help="worker processes that parse and scan the data (default: every core)")
    sp.add_argument("--review-judge", metavar="JUDGE.yaml",
                    help="send a sample of train rows to this LLM judge's review rubric (default: none)")
    sp.add_argument("--review-fraction", type=float, metavar="F",
                    help="share of train rows --review-judge sees (default: 0.1)")
    add_clean_arguments(sp)
    _ci(sp)
    sp.add_argument("--out", metavar="DIR", help="output folder (default: reports/audit/)")
    sp.add_argument("--quiet", action="store_true", help="print only the verdict and the report's path "
                                                         "(default: off)")
    _debug(sp)


def _suite_commands(sub: Subs, h: Mapping[str, Handler]) -> None:
    run = _sub(sub, "run", "audit, sweep, score, report and gate a suite", h.get("run"))
    run.add_argument("suite", help="the suite YAML file")
    _executor(run, "sweep trials")
    _ci(run)
    _common(run)
    sweep = _sub(sub, "sweep", "run (or resume) a suite's QLoRA sweep", h.get("sweep"))
    sweep.add_argument("suite", help="the suite YAML file")
    _executor(sweep, "trials")
    _common(sweep)
    ev = _sub(sub, "eval", "score the base and adapters on the held-out set, run the suite's judges, "
              "then gate", h.get("eval"))
    ev.add_argument("suite", help="the suite YAML file")
    ev.add_argument("--adapter", action="append", metavar="NAME=DIR",
                    help="an adapter to score, repeatable (default: the sweep's trials in --out)")
    _ci(ev)
    _common(ev)
    rep = _sub(sub, "report", "re-render index.html (and sweep.html) from a results folder", h.get("report"))
    rep.add_argument("dir", help="a results folder (holding results.json)")
    _debug(rep)
    exp = _sub(sub, "export", "merge a trial's adapter into the base (16/32-bit) and save it",
               h.get("export"))
    exp.add_argument("suite", help="the suite YAML file")
    exp.add_argument("--trial", required=True, help="the trial's name in sweep.json (required)")
    exp.add_argument("--to", required=True, metavar="DIR", help="folder for the merged model (required)")
    exp.add_argument("--sample", type=int, default=None, metavar="N",
                     help="eval prompts to check the export on (default: all of them)")
    _common(exp)


def _baseline(sub: Subs, h: Mapping[str, Handler]) -> None:
    base = _sub(sub, "baseline", "accept a run as the baseline, or compare a run with it", None)
    base_sub = base.add_subparsers(dest="action", required=True, metavar="{accept,compare}")
    accept = _sub(base_sub, "accept", "store a results folder as the accepted baseline", h.get("accept"))
    accept.add_argument("dir", help="a results folder (holding results.json)")
    accept.add_argument("--to", metavar="LOCKFILE", help="lockfile path (default: "
                                                         "<dir>/../baseline.lock.json)")
    _debug(accept)
    compare = _sub(base_sub, "compare", "compare a results folder with the accepted baseline "
                   "(exit 2: none or not comparable)", h.get("compare"))
    compare.add_argument("dir", help="a results folder (holding results.json)")
    compare.add_argument("--lock", metavar="LOCKFILE", help="lockfile path (default: "
                                                            "<dir>/../baseline.lock.json)")
    compare.add_argument("--primary", metavar="METRIC",
                         help="metric whose regressed items are listed (default: the run's primary metric)")
    _debug(compare)


def build(handlers: Mapping[str, Handler]) -> argparse.ArgumentParser:
    """The parser; ``handlers`` maps each subcommand (baseline's: ``accept``, ``compare``) to its function."""
    p = argparse.ArgumentParser(prog="harness", description=DESCRIPTION, epilog=epilog("run"),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    _debug(p)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _init(sub, handlers)
    _suite_commands(sub, handlers)
    _audit(sub, handlers)
    _baseline(sub, handlers)
    return p


__all__ = ["DESCRIPTION", "EXAMPLES", "build", "epilog"]
