"""LLM providers and the client around them.

``make_provider`` picks a backend by name (Anthropic when a key is set, else the bundled local
model); ``LLMClient`` adds cache, concurrency, rate limits, retries, parsing and cost.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from augment_core.errors import ConfigError
from augment_core.llm.anthropic_provider import AnthropicProvider
from augment_core.llm.base import Completion, Provider, Request, RetryableError
from augment_core.llm.client import LLMClient, ReplyParseError
from augment_core.llm.local_provider import LocalProvider, default_model_path
from augment_core.llm.openai_provider import OpenAIProvider
from augment_core.llm.usage import Estimate, Usage, estimate_tokens

PROVIDERS = ("anthropic", "openai", "local")

__all__ = [
    "PROVIDERS",
    "AnthropicProvider",
    "Completion",
    "Estimate",
    "LLMClient",
    "LocalProvider",
    "OpenAIProvider",
    "Provider",
    "ReplyParseError",
    "Request",
    "RetryableError",
    "Usage",
    "available_providers",
    "default_provider_name",
    "estimate_tokens",
    "make_provider",
]


def default_provider_name(api_key: str | None = None) -> str:
    """``anthropic`` when a key is given or ``ANTHROPIC_API_KEY`` is set, else ``local``."""
    return "anthropic" if api_key or os.environ.get("ANTHROPIC_API_KEY") else "local"


def make_provider(
    name: str | None = None, model: str | None = None, base_url: str | None = None, api_key: str | None = None
) -> Provider:
    """A provider by name; cheap (no SDK import, no model load, no network until the first call).

    ``model`` is a model name (anthropic, openai) or a .gguf path (local); ``api_key`` overrides
    the environment and is kept only in memory.
    """
    chosen = (name or default_provider_name(api_key)).strip().lower()
    if chosen == "anthropic":
        return AnthropicProvider(model, api_key=api_key, base_url=base_url)
    if chosen == "openai":
        return OpenAIProvider(model, api_key=api_key, base_url=base_url)
    if chosen == "local":
        if base_url:
            raise ConfigError("local: starts its own model server, takes no base URL; use --provider openai for one")
        return LocalProvider(model)
    raise ConfigError(f"unknown LLM provider '{name}'; choose one of: {', '.join(PROVIDERS)}")


LOCAL_MODEL_STATUS = Path(sys.prefix) / ".local-model-status"  # written by `make run` (Makefile)


def local_model_install_state() -> str:
    """What `make run`'s background build of the local model is doing ("" when none is known)."""
    try:
        state = LOCAL_MODEL_STATUS.read_text().split()
    except OSError:
        return ""
    log = LOCAL_MODEL_STATUS.with_name("local-model.log")
    if state[:1] == ["installing"]:
        return f"being installed in the background by `make run` (a few minutes here; log: {log})"
    if state[:1] == ["failed"]:
        return f"its install failed (log: {log}); run `make setup` to try again"
    return ""


def available_providers() -> dict[str, str]:
    """Provider name -> "" when usable as configured, else what is missing (for the sidebar)."""
    found: dict[str, str] = {}
    if importlib.util.find_spec("anthropic") is None:
        found["anthropic"] = "pip install anthropic"
    elif not os.environ.get("ANTHROPIC_API_KEY"):
        found["anthropic"] = "set ANTHROPIC_API_KEY or enter a key"
    else:
        found["anthropic"] = ""
    if importlib.util.find_spec("openai") is None:
        found["openai"] = "pip install openai"
    elif not (os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL")):
        found["openai"] = "set OPENAI_API_KEY, or give the base URL of a compatible server"
    else:
        found["openai"] = ""
    importlib.invalidate_caches()  # the local model may have been installed since the last look
    if importlib.util.find_spec("llama_cpp") is None:
        found["local"] = local_model_install_state() or "pip install 'llama-cpp-python[server]'"
    elif any(importlib.util.find_spec(m) is None for m in ("uvicorn", "fastapi", "sse_starlette", "openai")):
        found["local"] = "pip install 'llama-cpp-python[server]' openai"  # the model runs in llama_cpp.server
    else:
        try:
            default_model_path()
            found["local"] = ""
        except ConfigError as exc:
            found["local"] = str(exc)
    return found
