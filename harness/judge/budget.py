"""A judge run's budget, in tokens or dollars: checked before the run starts and before every request.

The preflight estimate is an upper bound: every uncached judgement's prompt (at
three characters a token, more tokens than English text usually takes) plus the
rubric's ``max_tokens`` for the answer. During the run each request reserves
its own bound before it is sent and settles to the tokens the server reports;
a request that could overrun the budget is not sent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import BudgetExceeded, ConfigError, JudgeError
from harness.judge.config import JudgeConfig
from harness.judge.rubrics import rubric_dirs_with_default
from harness.yamlsafe import load_yaml_file

PRICES_FILE = "_prices.yaml"
CHARS_PER_TOKEN_BOUND = 3


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input + output_tokens * self.output) / 1e6


def estimate_prompt_tokens(*texts: str) -> int:
    return math.ceil(sum(len(t) for t in texts) / CHARS_PER_TOKEN_BOUND) + 8


def price_for(config: JudgeConfig, rubric_dirs: Sequence[Path | str] = ()) -> Price | None:
    """The model's list price from the first ``_prices.yaml`` that lists it (longest prefix wins)."""
    if config.backend == "local":
        return Price(0.0, 0.0)
    for folder in rubric_dirs_with_default(rubric_dirs):
        table = _load_prices(folder / PRICES_FILE).get(config.backend, {})
        matches = [prefix for prefix in table if config.model.startswith(prefix)]
        if matches:
            return table[max(matches, key=len)]
    return None


def _load_prices(path: Path) -> dict[str, dict[str, Price]]:
    if not path.is_file():
        return {}
    try:
        raw = load_yaml_file(path, "price table", kind="prices") or {}
        return {backend: {str(model): Price(float(pair[0]), float(pair[1]))
                          for model, pair in (models or {}).items()}
                for backend, models in raw.items()}
    except (AttributeError, TypeError, ValueError, IndexError, KeyError):
        raise ConfigError("expected backend: {model-prefix: [input, output]} in USD per million tokens",
                          path=path) from None


class Budget:
    """Tracks what a judge has spent and reserved; one per judge run (single event loop)."""

    def __init__(self, config: JudgeConfig, price: Price | None) -> None:
        if config.budget_usd is not None and price is None:
            raise JudgeError(f"judge {config.name!r}: no price is known for {config.backend} model "
                             f"{config.model!r}, so budget_usd cannot be checked",
                             hint="add it to judges/_prices.yaml, or set budget_tokens instead")
        self.name = config.name
        self.max_tokens = config.budget_tokens
        self.max_usd = config.budget_usd
        self.price = price
        self.spent_tokens = 0
        self.spent_usd = 0.0
        self._reserved_tokens = 0
        self._reserved_usd = 0.0
        self.refused = 0  # requests not sent because they could overrun the budget

    @property
    def limited(self) -> bool:
        return self.max_tokens is not None or self.max_usd is not None

    def _usd(self, tokens_in: int, tokens_out: int) -> float:
        return self.price.cost(tokens_in, tokens_out) if self.price else 0.0

    def preflight(self, bounds: Sequence[tuple[int, int]]) -> None:
        """Refuse to start when the upper bound for the uncached judgements exceeds the budget."""
        tokens = sum(i + o for i, o in bounds)
        usd = sum(self._usd(i, o) for i, o in bounds)
        if self.max_tokens is not None and tokens > self.max_tokens:
            raise BudgetExceeded(f"{len(bounds)} uncached judgements may take up to "
                                 f"{tokens} tokens; budget_tokens is {self.max_tokens}",
                                 hint="raise the budget, judge a sample, or lower the rubric's max_tokens")
        if self.max_usd is not None and usd > self.max_usd:
            raise BudgetExceeded(f"{len(bounds)} uncached judgements may cost up to "
                                 f"${usd:.4f}; budget_usd is ${self.max_usd:.4f}",
                                 hint="raise the budget, judge a sample, or lower the rubric's max_tokens")

    def reserve(self, tokens_in: int, tokens_out: int, *, count_refusal: bool = True) -> bool:
        """Hold room for one request; False (and nothing held) if it could overrun the budget.

        ``count_refusal``: a refusal counts as a judgement not sent (False for a re-ask).
        """
        tokens, usd = tokens_in + tokens_out, self._usd(tokens_in, tokens_out)
        over_tokens = (self.max_tokens is not None
                       and self.spent_tokens + self._reserved_tokens + tokens > self.max_tokens)
        over_usd = self.max_usd is not None and self.spent_usd + self._reserved_usd + usd > self.max_usd
        if over_tokens or over_usd:
            self.refused += count_refusal
            return False
        self._reserved_tokens += tokens
        self._reserved_usd += usd
        return True

    def release(self, tokens_in: int, tokens_out: int) -> None:
        self._reserved_tokens -= tokens_in + tokens_out
        self._reserved_usd -= self._usd(tokens_in, tokens_out)

    def spend(self, tokens_in: int, tokens_out: int) -> None:
        self.spent_tokens += tokens_in + tokens_out
        self.spent_usd += self._usd(tokens_in, tokens_out)
