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

=====================  ========  ==========================================================
check                  severity  one finding per
=====================  ========  ==========================================================
exact_duplicates       warning   cluster of rows equal after NFKC + casefold + whitespace
near_duplicates        warning   cluster (MinHash LSH, exact Jaccard >= threshold, union-find)
leakage                error     eval row leaking into train (exact / near_duplicate / ngram,
                                 on prompt / response / record)
contamination          error     train or eval row holding benchmark items (per benchmark)
empty_target           error     row with an empty or whitespace-only target
short_target           warning   a few words where the instruction asks for long-form text, or
                                 one word that only opens a sentence ("The")
length_outlier         warning   target length beyond the robust z-score limit
format_outlier         warning   target off the set's shared format (JSON object, label set)
placeholder_input      warning   a "no input" marker as the input (<noinput>, No input., N/A)
placeholder_output     error     a marker as the target (<nooutput>, N/A, None)
inconsistent_markers   warning   (per set) "no input" spelled several ways, with counts
non_text_task          warning   instruction asking for an image, audio, video or 3D model
dangling_input         warning   a URL or attachment placeholder as the whole input
repetition             warning   Gopher's repetition statistics beyond their limits; end loops
cut_off_response       warning   response stopping mid-sentence/word, in an open fence, bracket
                                 or list, or exactly at a generator token limit
refusal                warning   refusals and "As an AI language model" boilerplate (counted)
control_characters     warning   stray control characters, DEL, C1 controls, U+FFFD
literal_escapes        warning   "\\n", "\\u00e9" written out in prose
mojibake               warning   UTF-8 read as cp1252 ("Ã©", "â€™")
semantic_leakage       warning   eval row whose prompt or response paraphrases train rows'
                                 (opt-in, extra ``semantic``: all-MiniLM-L6-v2 cosine, per field)
semantic_duplicates    warning   cluster of train prompts saying the same thing (opt-in)
=====================  ========  ==========================================================

The rows from ``empty_target`` to ``mojibake`` are the registry's built-in
per-row checks (:mod:`harness.audit.checks`, :mod:`harness.audit.defects`): each
reports its effective ``params``, and ``params.checks`` / ``params.check_params``
add checks (a name or ``module:function``) and set their parameters.

With a tokenizer, the chat-template audit's checks (``harness.audit.templates``)
are merged in, its summary under ``summary["templates"]["train"]``; with a tokenizer
and an eval set, the template parity checks (``harness.audit.template_parity``:
``parity_generation_prompt``, ``parity_generation_header``, ``parity_end_of_turn``) too.
With a serving template as well (``harness audit --serving-template``, suite ``audit.serving_template``):

=================  ========  ==========================================================
serving_template   error     family of difference between the training render and the
                             serving render of the same conversations (``details.family``:
                             wrong_family, bos_doubled, bos_missing, system_prompt_dropped,
                             system_prompt_added, missing_end_of_turn,
                             missing_generation_prompt, whitespace, turn_header,
                             render_error, other); see ``harness.audit.serving_template``
=================  ========  ==========================================================

its summary under ``summary["serving_template"]``.

``clean_dataset(train, eval, out=DIR, policy=CleanPolicy(...))`` writes a cleaned
copy in the input's own format, ``removed.jsonl`` and ``clean.json``
(:mod:`harness.audit.clean`).

``details`` carries what a report needs to show rows side by side: ``members``
(split, index, text cut to 300 characters), ``jaccard``, ``matches`` (leakage:
``train``, ``how``, ``field``, ``jaccard`` or ``shared_ngrams`` and ``ngrams``),
``docs`` (contamination); capped lists say how many were left out
(``members_left_out``...).
"""

from harness.audit import defects as _defects  # noqa: F401  (importing it registers the built-in checks)
from harness.audit.benchmarks import BenchmarkDoc, load_benchmark
from harness.audit.checks import AuditCheck, AuditCheckError, audit_check, register
from harness.audit.clean import CleanReport, RemovedRow, clean_dataset
from harness.audit.clean_policy import CleanPolicy
from harness.audit.rows import CheckOutput, Hit, Rows
from harness.audit.runner import AuditParams, run_audit

__all__ = ["AuditCheck", "AuditCheckError", "AuditParams", "BenchmarkDoc", "CheckOutput", "CleanPolicy",
           "CleanReport", "Hit", "RemovedRow", "Rows", "audit_check", "clean_dataset", "load_benchmark",
           "register", "run_audit"]
