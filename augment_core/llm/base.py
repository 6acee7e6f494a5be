"""The provider interface: one async method that turns a request into a completion.

Providers (anthropic, openai, local) implement ``complete``; everything shared (concurrency,
rate limits, retries, cache, cost, JSON parsing) lives in the client around them, not here.
"""

from __future__ import annotations

import abc
import email.utils
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from augment_core.errors import KeyRefused, ProviderError, RateLimited, ServerError
from augment_core.errors import RetryableError as RetryableError  # re-exported: it used to live here


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
    # A ceiling on parallel calls the client respects (an in-process model runs one at a time).
    max_concurrency: int | None = None
    # Hosted providers: the environment variable holding the key, and a key passed in (studio).
    key_variable: str = ""
    _api_key: str | None = None

    @abc.abstractmethod
    async def complete(self, request: Request) -> Completion:
        """Complete one request; raise on failure (the client retries what is retryable)."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, not abstract
        """Release network clients or models."""

    def given_key(self) -> str | None:
        """The key passed in, else the one in the environment; None when there is none."""
        return self._api_key or (os.environ.get(self.key_variable) if self.key_variable else None)

    def scrub(self, text: str) -> str:
        """``text`` with this provider's secret masked, for error messages (no secret: unchanged)."""
        return redact(text, self.given_key())


RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The wait a server asks for: ``retry-after-ms``, else ``retry-after`` (seconds or an HTTP date)."""
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def redact(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` (and its long prefixes) masked."""
    if not secret or len(secret) < 8:
        return text
    text = text.replace(secret, "***")
    # SDKs and servers sometimes echo a truncated key ("sk-ant-abc...xyz"); mask any long prefix too.
    return text.replace(secret[: max(8, len(secret) // 2)], "***")


def status_error(status: int, message: str, headers: Mapping[str, str] | None, secret: str | None) -> ProviderError:
    """The error for an HTTP error status from an SDK, key masked: a rate limit, a server error,
    another retryable status, a refused key (which stops a run), or a final error."""
    text = redact(f"HTTP {status}: {message}", secret)
    if status in (401, 403):
        return KeyRefused(f"the key was refused ({text})")
    retry_after = retry_after_seconds(headers)
    if status in (429, 529):
        return RateLimited(text, retry_after, status)
    if status >= 500:
        return ServerError(text, retry_after, status)
    if status in RETRYABLE_STATUS:
        return RetryableError(text, retry_after, status)
    return ProviderError(text)


def sdk_error_message(exc: Any) -> str:
    """The API's own message from an SDK status error (``{"error": {"message": ...}}``), else its text."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(getattr(exc, "message", exc))
