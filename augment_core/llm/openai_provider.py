"""Any OpenAI-compatible Chat Completions endpoint through the official ``openai`` SDK.

OpenAI itself, vLLM, Ollama, a llama.cpp server: only ``base_url`` (and the model name)
changes. A key is optional for local servers. A JSON schema is sent as the standard
``json_schema`` response format; servers that only know ``json_object`` + ``schema`` (llama.cpp)
reject that (400/422, or 500 naming response_format), after which this provider switches style
for good.
"""

from __future__ import annotations

import json
import os
from typing import Any

from augment_core.errors import ConfigError, ConnectionFailed, ProviderError, ProviderTimeout, ServerError
from augment_core.llm.base import Completion, Provider, Request, sdk_error_message, status_error

DEFAULT_MODEL = "gpt-4o-mini"
KEY_VARIABLE = "OPENAI_API_KEY"
_SDK_TIMEOUT = 600.0
# The SDK insists on some key; local servers ignore it.
_NO_KEY = "no-key"


class OpenAIProvider(Provider):
    """Chat Completions at ``base_url`` (default: OpenAI, which needs ``OPENAI_API_KEY``)."""

    name = "openai"
    key_variable = KEY_VARIABLE

    def __init__(self, model: str | None = None, *, api_key: str | None = None, base_url: str | None = None) -> None:
        self.model = model or os.environ.get("OPENAI_MODEL") or DEFAULT_MODEL
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        self._api_key = api_key
        self._client: Any = None
        # "json_object" once a server refuses the standard form (or from the start for llama.cpp's)
        self._schema_style = "json_schema"

    def __repr__(self) -> str:  # never the key
        return f"OpenAIProvider(model={self.model!r}, base_url={self.base_url!r})"

    def _key(self) -> str:
        key = self.given_key()
        if key:
            return key
        if self.base_url is None:
            raise ConfigError(f"openai: no API key; set {KEY_VARIABLE}, or give a base URL for a local server")
        return _NO_KEY

    def load(self) -> Any:
        """The SDK client, made on first use."""
        if self._client is None:
            try:
                import openai
            except ImportError:
                raise ConfigError("openai: the SDK is not installed; pip install openai") from None
            self._client = openai.AsyncOpenAI(
                api_key=self._key(), base_url=self.base_url, max_retries=0, timeout=_SDK_TIMEOUT
            )
        return self._client

    def _params(self, request: Request) -> dict[str, Any]:
        messages = [{"role": "user", "content": request.prompt}]
        if request.system:
            messages.insert(0, {"role": "system", "content": request.system})
        params: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": request.temperature,
            # A seed per sample: reproducible where the server honours it, and samples differ.
            "seed": request.sample_index,
        }
        # OpenAI's newer models take only max_completion_tokens; compatible servers know max_tokens.
        params["max_completion_tokens" if self.base_url is None else "max_tokens"] = request.max_tokens
        if request.json_schema is not None:
            if self._schema_style == "json_schema":
                params["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "reply", "schema": request.json_schema},
                }
            else:
                params["response_format"] = {"type": "json_object", "schema": request.json_schema}
        return params

    async def complete(self, request: Request) -> Completion:
        import openai

        client = self.load()
        try:
            try:
                response = await client.chat.completions.create(**self._params(request))
            except openai.APIStatusError as exc:
                if not self._refused_schema_style(request, exc):
                    raise
                self._schema_style = "json_object"
                response = await client.chat.completions.create(**self._params(request))
        except openai.APIStatusError as exc:
            raise status_error(exc.status_code, sdk_error_message(exc), exc.response.headers, self._key()) from None
        except openai.APITimeoutError:
            raise ProviderTimeout(f"{self.name}: the request timed out") from None
        except openai.APIConnectionError as exc:
            raise ConnectionFailed(self.scrub(f"{self.name}: connection failed: {exc}")) from None
        except json.JSONDecodeError:
            raise ServerError(f"{self.name}: the response body is not JSON") from None
        except openai.OpenAIError as exc:
            raise ProviderError(self.scrub(f"{self.name}: {exc}")) from None
        try:
            choice = response.choices[0]
            usage = response.usage
            return Completion(
                text=choice.message.content or "",
                input_tokens=int(usage.prompt_tokens) if usage else 0,
                output_tokens=int(usage.completion_tokens) if usage else 0,
                model=str(response.model or self.model),
                finish_reason=str(choice.finish_reason or "stop"),
            )
        except (AttributeError, IndexError, TypeError) as exc:
            raise ServerError(f"{self.name}: unexpected response shape ({exc})") from None

    def _refused_schema_style(self, request: Request, exc: Any) -> bool:
        """Whether a server rejected the ``json_schema`` response format (llama.cpp answers 500)."""
        if request.json_schema is None or self._schema_style != "json_schema":
            return False
        return exc.status_code in (400, 422) or "response_format" in sdk_error_message(exc)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
