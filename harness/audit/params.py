"""The audit's parameters (frozen, unknown names refused); every check reports the ones it used.

The knobs a suite's ``audit:`` section also sets (``near_duplicate_threshold``,
``ngram``, ``max_seq_len``, ``semantic``, ``semantic_threshold``) are defined
once, in :class:`harness.config.AuditKnobs`, and inherited here with their bounds and defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from harness.config import AuditKnobs


class AuditParams(AuditKnobs):
    shingle_size: int = Field(5, ge=1)  # word 5-grams
    num_perm: int = Field(128, ge=2)
    workers: int | None = Field(None, ge=1)  # None: os.cpu_count()
    show_examples: int = Field(5, ge=0)  # rendered examples the template audit shows

    # Beyond the contract: knobs with defaults, reported in each CheckRun's params.
    seed: int = 1  # MinHash permutation seed (datasketch's default)
    lsh_weights: tuple[float, float] = (0.05, 0.95)  # datasketch _optimal_param (FP, FN) weights
    min_field_words: int = Field(5, ge=1)  # prompt/response exact and near matches need this many words
    boilerplate_share: float = Field(0.01, gt=0, le=1)  # a gram in more rows than this share ...
    boilerplate_min_rows: int = Field(10, ge=1)  # ... and than this many rows is boilerplate
    benchmark_part_words: int = Field(8, ge=1)  # n for benchmark parts too short for the n-gram
    max_findings_per_check: int = Field(500, ge=1)  # per-row findings beyond this are grouped
    max_members: int = Field(20, ge=1)  # members/rows listed in one finding's details
    semantic_max_word_overlap: float = Field(0.8, gt=0, le=1)  # pairs sharing more words: lexical checks'
    semantic_max_rows: int = Field(20_000, ge=1)  # semantic duplicates compare all train pairs
    # Per-row checks (harness.audit.checks): extra ones by name or module:function, and parameter
    # overrides per check name (each check reports its effective params).
    checks: tuple[str, ...] = ()
    check_params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # None: every check runs. A clean's verifying re-audits set the classes it drops: only those can
    # change what it drops, and the others' set-level passes over a million rows are wasted there.
    only_checks: tuple[str, ...] | None = None

    def runs(self, names: Sequence[str]) -> bool:
        """Whether any of ``names`` (a pass's checks) is to run."""
        return self.only_checks is None or not set(names).isdisjoint(self.only_checks)

    def boilerplate_rows(self, rows: int) -> int:
        """Rows a gram may appear in before it counts as boilerplate."""
        return max(self.boilerplate_min_rows, int(self.boilerplate_share * rows))
