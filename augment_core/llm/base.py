"""The provider interface: one async method that turns a request into a completion.

Providers (anthropic, openai, local) implement ``complete``; everything shared (concurrency,
rate limits, retries, cache, cost, JSON parsing) lives in the client around them, not here.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    """What to ask: the same fields for every provider."""

    prompt: str
    system: str = ""
    max_tokens: int = 512
    temperature: float = 0.7
    json_schema: dict[str, Any] | None = None
    sample_index: int = 0  # several samples of one prompt are cached apart


@dataclass(frozen=True)
class Completion:
    """What came back, with the usage that pays for it."""

    text: str
    input_tokens: int
    output_tokens: int
    model: str
    finish_reason: str = "stop"
    cached: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Provider(abc.ABC):
    """A backend that completes prompts. Cheap to construct; the SDK loads on first use."""

    name: str = "provider"
    model: str = ""

    @abc.abstractmethod
    async def complete(self, request: Request) -> Completion:
        """Complete one request; raise on failure (the client retries what is retryable)."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, not abstract
        """Release network clients or models."""
