"""Claude through the official ``anthropic`` SDK (AsyncAnthropic).

The SDK's own retries are off: the client retries, so limits, backoff and accounting live in
one place. The key comes from the caller (the studio passes a secret or a session-only key) or
``ANTHROPIC_API_KEY``; it stays inside the SDK object and is masked out of every error.
"""

from __future__ import annotations

import json
import os
from typing import Any

from augment_core.errors import ConfigError, ConnectionFailed, ProviderError, ProviderTimeout, ServerError
from augment_core.llm.base import Completion, Provider, Request, sdk_error_message, status_error

# The newest Sonnet the pinned SDK knows (it warns that claude-sonnet-4-5 is deprecated).
DEFAULT_MODEL = "claude-sonnet-5-5"
KEY_VARIABLE = "ANTHROPIC_API_KEY"
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}
# The SDK waits this long at most; the client's own per-request timeout is the one that counts.
_SDK_TIMEOUT = 600.0


class AnthropicProvider(Provider):
    """The Anthropic Messages API; ``base_url`` for a proxy or gateway (default: the SDK's)."""

    name = "anthropic"
    key_variable = KEY_VARIABLE

    def __init__(self, model: str | None = None, *, api_key: str | None = None, base_url: str | None = None) -> None:
        self.model = model or os.environ.get("ANTHROPIC_MODEL") or DEFAULT_MODEL
        self.base_url = base_url
        self._api_key = api_key
        self._client: Any = None

    def __repr__(self) -> str:  # never the key
        return f"AnthropicProvider(model={self.model!r}, base_url={self.base_url!r})"

    def _key(self) -> str:
        key = self.given_key()
        if not key:
            raise ConfigError(f"anthropic: no API key; set {KEY_VARIABLE} or enter a key in the studio sidebar")
        return key

    def load(self) -> Any:
        """The SDK client, made on first use (import and key check happen here)."""
        if self._client is None:
            try:
                import anthropic
            except ImportError:
                raise ConfigError("anthropic: the SDK is not installed; pip install anthropic") from None
            self._client = anthropic.AsyncAnthropic(
                api_key=self._key(), base_url=self.base_url, max_retries=0, timeout=_SDK_TIMEOUT
            )
        return self._client

    async def complete(self, request: Request) -> Completion:
        import anthropic

        client = self.load()
        kwargs: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": "user", "content": request.prompt}],
        }
        # This SDK generation has no sampling parameters (the API chooses); temperature only
        # tells samples apart in the cache key, so it is not sent.
        if request.system:
            kwargs["system"] = request.system
        if request.json_schema is not None:
            kwargs["output_config"] = {"format": {"type": "json_schema", "schema": request.json_schema}}
        try:
            message = await client.messages.create(**kwargs)
        except anthropic.APIStatusError as exc:
            raise status_error(exc.status_code, sdk_error_message(exc), exc.response.headers, self._key()) from None
        except anthropic.APITimeoutError:
            raise ProviderTimeout("anthropic: the request timed out") from None
        except anthropic.APIConnectionError as exc:
            raise ConnectionFailed(self.scrub(f"anthropic: connection failed: {exc}")) from None
        except json.JSONDecodeError:
            # A proxy or load balancer answering with HTML: transient more often than not.
            raise ServerError("anthropic: the response body is not JSON") from None
        except anthropic.AnthropicError as exc:
            raise ProviderError(self.scrub(f"anthropic: {exc}")) from None
        try:
            text = "".join(block.text for block in message.content if getattr(block, "type", "") == "text")
            usage = message.usage
            return Completion(
                text=text,
                input_tokens=int(usage.input_tokens),
                output_tokens=int(usage.output_tokens),
                model=str(message.model or self.model),
                finish_reason=_FINISH.get(str(message.stop_reason), str(message.stop_reason)),
            )
        except (AttributeError, TypeError) as exc:
            raise ServerError(f"anthropic: unexpected response shape ({exc})") from None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

