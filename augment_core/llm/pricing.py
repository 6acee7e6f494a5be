"""Prices per million tokens, and the money a number of tokens costs.

The defaults below are list prices in USD at the time of writing; the table is a setting
(``llm.prices`` in the store: ``{"model": {"input": 3.0, "output": 15.0}}``) so a user fixes a
price or adds a model without a release. A model matches its own name, ``provider/model``, the
longest listed prefix (dated variants), or ``provider/*``; a model with no match costs 0 and is
reported as unpriced, so the UI can say so instead of showing a confident $0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from augment_core.errors import InputError
from augment_core.settings import PRICES_KEY, SettingSource, setting

if TYPE_CHECKING:
    from augment_core.store import Store


DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "claude-opus-4-5": {"input": 5.0, "output": 25.0},
    "claude-opus-4-1": {"input": 15.0, "output": 75.0},
    "claude-opus-4": {"input": 15.0, "output": 75.0},
    "claude-sonnet-4-5": {"input": 3.0, "output": 15.0},
    "claude-sonnet-4": {"input": 3.0, "output": 15.0},
    "claude-haiku-4-5": {"input": 1.0, "output": 5.0},
    "claude-3-5-haiku": {"input": 0.8, "output": 4.0},
    "gpt-4.1": {"input": 2.0, "output": 8.0},
    "gpt-4.1-mini": {"input": 0.4, "output": 1.6},
    "gpt-4.1-nano": {"input": 0.1, "output": 0.4},
    "gpt-4o": {"input": 2.5, "output": 10.0},
    "gpt-4o-mini": {"input": 0.15, "output": 0.6},
    # Family fallbacks for models newer than this table: each tier's last list price (an
    # assumption; a wrong one is fixed in the settings).
    "claude-opus": {"input": 5.0, "output": 25.0},
    "claude-sonnet": {"input": 3.0, "output": 15.0},
    "claude-haiku": {"input": 1.0, "output": 5.0},
    "local/*": {"input": 0.0, "output": 0.0},  # the in-process model costs electricity only
}


@dataclass(frozen=True)
class Price:
    """USD per million input and output tokens."""

    input: float
    output: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


def load_prices(store: SettingSource | None = None) -> dict[str, Price]:
    """The default table with the store's ``llm.prices`` setting laid over it."""
    table = dict(DEFAULT_PRICES)
    if store is not None:
        table.update(setting(store, PRICES_KEY))
    return {model: check_price(model, entry) for model, entry in table.items()}


def check_price(model: str, entry: Any) -> Price:
    try:
        return Price(float(entry["input"]), float(entry["output"]))
    except (TypeError, KeyError, ValueError):
        raise InputError(
            f"price of '{model}' must be {{\"input\": USD, \"output\": USD}} per million tokens"
        ) from None


def set_price(store: Store, model: str, input_per_million: float, output_per_million: float) -> None:
    """Add or change one model's price in the store's table."""
    if input_per_million < 0 or output_per_million < 0:
        raise InputError(f"price of '{model}': per-million prices cannot be negative")
    custom = dict(store.get_setting(PRICES_KEY, {}) or {})
    custom[model] = {"input": float(input_per_million), "output": float(output_per_million)}
    store.set_setting(PRICES_KEY, custom)


def find_price(prices: dict[str, Price], provider: str, model: str) -> Price | None:
    """The price of ``model`` served by ``provider``, or None when the table has no match."""
    for key in (f"{provider}/{model}", model):
        if key in prices:
            return prices[key]
    prefixes = [k for k in prices if not k.endswith("/*") and model.startswith(k)]
    if prefixes:
        return prices[max(prefixes, key=len)]
    return prices.get(f"{provider}/*")
