"""What a call costs: USD per million input and output tokens, per model, overridable.

Models match by longest prefix, so `claude-sonnet-4-5` also prices `claude-sonnet-4-5-20250929`.
A model with no price (a self-hosted one, say) costs nothing; give it a price in the
settings (`prices`) when the cost budget should count it.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input_per_mtok: float = Field(ge=0)
    """USD per million input tokens."""
    output_per_mtok: float = Field(ge=0)
    """USD per million output tokens."""


def _p(input_per_mtok: float, output_per_mtok: float) -> Price:
    return Price(input_per_mtok=input_per_mtok, output_per_mtok=output_per_mtok)


DEFAULT_PRICES: Mapping[str, Price] = {
    "claude-fable-5-1": _p(10, 50),
    "claude-opus-5-5": _p(4, 20),
    "claude-opus-5": _p(5, 25),
    "claude-sonnet-5-5": _p(2, 10),
    "claude-sonnet-5": _p(3, 15),
    "claude-opus-4-8": _p(5, 25),
    "claude-opus-4-7": _p(5, 25),
    "claude-opus-4-6": _p(5, 25),
    "claude-opus-4-5": _p(5, 25),
    "claude-opus-4": _p(15, 75),
    "claude-sonnet-4": _p(3, 15),
    "claude-haiku-4-5": _p(1, 5),
    "claude-3-7-sonnet": _p(3, 15),
    "claude-3-5-haiku": _p(0.8, 4),
    "gpt-5-nano": _p(0.05, 0.4),
    "gpt-5-mini": _p(0.25, 2),
    "gpt-4.1-nano": _p(0.1, 0.4),
    "gpt-4.1-mini": _p(0.4, 1.6),
    "gpt-4.1": _p(2, 8),
    "gpt-4o-mini": _p(0.15, 0.6),
    "gpt-4o": _p(2.5, 10),
    "o4-mini": _p(1.1, 4.4),
    "o3-mini": _p(1.1, 4.4),
    "o3": _p(2, 8),
}
"""Published list prices (2026); check your provider's before trusting a cost budget.

Models missing here (newer ones, dated variants with other prices) cost 0 until priced."""


def price_for(model: str, overrides: Mapping[str, Price] | None = None) -> Price | None:
    table = {**DEFAULT_PRICES, **(overrides or {})}
    matches = [prefix for prefix in table if model.startswith(prefix)]
    return table[max(matches, key=len)] if matches else None


def cost_usd(
    model: str,
    input_tokens: int,
    output_tokens: int,
    overrides: Mapping[str, Price] | None = None,
) -> float:
    price = price_for(model, overrides)
    if price is None:
        return 0.0
    return (input_tokens * price.input_per_mtok + output_tokens * price.output_per_mtok) / 1e6
