"""What LLM calls cost: counts, tokens and money per scope (``Usage``), a run's estimate before it
starts (``Estimate``), and the rough token count estimates use."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from augment_core.llm.base import Completion


@dataclass
class Usage:
    """Counts for one scope (a client, a label, one candidate's calls): calls made, cache hits,
    failures, retries, tokens and money. ``by_label`` splits a client's running totals per label
    (one per augmenter); it stays empty elsewhere. ``cost_usd`` is what was spent: a cache hit
    adds no tokens and no money to a client (a candidate's usage records what its reply cost)."""

    calls: int = 0
    cached: int = 0
    failed: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    by_label: dict[str, Usage] = field(default_factory=dict)

    def add(self, other: Usage) -> None:
        """Add ``other``'s counts (not its split per label)."""
        for counter in COUNT_FIELDS:
            setattr(self, counter, getattr(self, counter) + getattr(other, counter))

    @classmethod
    def of(cls, completion: Completion) -> Usage:
        """What ``completion`` cost: a live call, or a cache hit worth what it cost when fetched."""
        cost = completion.extra.get("cost_usd")
        return cls(
            calls=0 if completion.cached else 1,
            cached=1 if completion.cached else 0,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            cost_usd=float(cost) if isinstance(cost, int | float) else 0.0,
        )

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def paid(self) -> dict[str, Any]:
        """Calls, cache hits, tokens and money only (what a candidate's provenance records)."""
        return {name: round(self.cost_usd, 6) if name == "cost_usd" else getattr(self, name) for name in PAID_FIELDS}


PAID_FIELDS = ("calls", "cached", "input_tokens", "output_tokens", "cost_usd")
COUNT_FIELDS = ("calls", "cached", "failed", "retries", *PAID_FIELDS[2:])


@dataclass(frozen=True)
class Estimate:
    """What a run will cost before it starts; ``priced`` is False when the model has no price."""

    provider: str
    model: str
    requests: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    priced: bool


def estimate_tokens(text: str) -> int:
    """A rough token count (about four characters per token in English) for estimates."""
    return max(1, (len(text) + 3) // 4) if text else 0
