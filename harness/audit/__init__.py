"""The dataset audit: duplicates, leakage, contamination and target defects, at scale.

``run_audit(train, eval, benchmarks=..., params=AuditParams(...))`` returns a
:class:`harness.results.AuditResult`. Writing it (``audit.json``, and the HTML
page :mod:`harness.report` renders) is :func:`harness.audit_run.write_audit`'s;
nothing here knows about HTML.

``audit.json`` (a public interface; extend, do not rename)::

    {"version": 2,
     "findings": [{"check": str, "severity": "error" | "warning" | "info", "message": str,
                   "refs": [{"split": "train" | "eval" | "benchmark", "index": int, "file": null}],
                   "details": {...}}],
     "checks": [{"check": str, "params": {...}, "findings": int, "seconds": float}],
     "summary": {"rows": {"train": int, "eval": int}, "benchmarks": {name: docs},
                 "counts": {check: {"error": int, "warning": int, "info": int}},
                 "severity": {"error": int, "warning": int, "info": int},
                 "checks_run": [str], "seconds": float, "stages": {...}, "executor": str,
                 "workers": int, "params": {...}, "templates": {...} (with a tokenizer)}}

``index`` is the 0-based record number in that input (for ``benchmark``, the
document's number in the loaded benchmark). Every check appears in ``checks``
even when it found nothing; a check that could not run says why in
``params.skipped``. Check names and severities:

=================  ========  ==========================================================
check              severity  one finding per
=================  ========  ==========================================================
exact_duplicates   warning   cluster of rows equal after NFKC + casefold + whitespace
near_duplicates    warning   cluster (MinHash LSH, exact Jaccard >= threshold, union-find)
leakage            error     eval row leaking into train (exact / near_duplicate / ngram,
                             on prompt / response / record)
contamination      error     train or eval row holding benchmark items (per benchmark)
empty_target       error     row with an empty or whitespace-only target
short_target       warning   one-word target in a set of long targets
length_outlier     warning   target length beyond the robust z-score limit
format_outlier     warning   target off the set's shared format (JSON object, label set)
semantic_leakage   warning   eval prompt paraphrasing train prompts (opt-in, extra
                             ``semantic``: all-MiniLM-L6-v2 cosine)
semantic_duplicates warning  cluster of train prompts saying the same thing (opt-in)
=================  ========  ==========================================================

With a tokenizer, the chat-template audit's checks (``harness.audit.templates``)
are merged in, its summary under ``summary["templates"]["train"]``; with a tokenizer
and an eval set, the template parity checks (``harness.audit.template_parity``:
``parity_generation_prompt``, ``parity_generation_header``, ``parity_end_of_turn``) too. With a serving
template as well (``harness audit --serving-template``, suite ``audit.serving_template``):

=================  ========  ===================================================
``details`` carries what a report needs to show rows side by side: ``members``
(split, index, text cut to 300 characters), ``jaccard``, ``matches`` (leakage:
``train``, ``how``, ``field``, ``jaccard`` or ``shared_ngrams`` and ``ngrams``),
``docs`` (contamination); capped lists say how many were left out
(``members_left_out``...).
"""

from harness.audit.benchmarks import BenchmarkDoc, load_benchmark
from harness.audit.runner import AuditParams, run_audit

__all__ = ["AuditParams", "BenchmarkDoc", "load_benchmark", "run_audit"]
