"""The token-by-token view of a training example and a generation prompt, from results only."""

from __future__ import annotations

from dataclasses import dataclass

from harness.results import TemplateParity, TokenExample

# Whitespace a token holds is what template mismatches are made of: show it, never collapse it.
VISIBLE = str.maketrans({" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"})


@dataclass(frozen=True)
class Cell:
    id: int
    shown: str  # the vocabulary piece, whitespace made visible (the template escapes it)
    loss: bool
    special: bool


@dataclass(frozen=True)
class TokenRowView:
    item_id: str
    kind: str
    cells: list[Cell]
    answer_start: int | None
    left_out: int


def shown(piece: str) -> str:
    return piece.translate(VISIBLE) if piece else "∅"


def token_views(template: TemplateParity | None) -> list[TokenRowView]:
    """Each stored example (training rendering, then its generation prompt) as displayable cells."""
    if template is None:
        return []
    return [_view(ex) for ex in template.examples]


def _view(ex: TokenExample) -> TokenRowView:
    cells = [Cell(c.id, shown(c.text), c.loss, c.special) for c in ex.tokens]
    return TokenRowView(ex.item_id, ex.kind, cells, ex.answer_start, ex.left_out)


__all__ = ["TokenRowView", "shown", "token_views"]
