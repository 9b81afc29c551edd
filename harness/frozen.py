"""The base of every typed result: a frozen pydantic model that refuses unknown fields."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Immutable once built, and strict when read back: a field this version does not know is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


__all__ = ["Frozen"]
