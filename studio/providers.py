"""Which LLM providers can run here, and the sidebar's choice, with keys from env, secrets or session."""

from __future__ import annotations

from dataclasses import dataclass, field

from studio.common import secret

# The variable each hosted provider reads its key from (env or .streamlit/secrets.toml).
KEY_VARIABLES = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}


@dataclass(frozen=True)
class ProviderChoice:
    """The provider picked in the sidebar; the key is kept out of repr so it is never shown or logged."""

    name: str
    model: str | None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)


def provider_status(typed_keys: dict[str, str] | None = None, base_url: str | None = None) -> dict[str, str]:
    """{provider: "" when usable, else the reason}; a key from secrets or the session counts too."""
    from augment_core.llm import available_providers

    status = dict(available_providers())
    for name, variable in KEY_VARIABLES.items():
        if status.get(name) and variable in status[name] and ((typed_keys or {}).get(name) or secret(variable)):
            status[name] = ""
    if status.get("openai") and base_url and KEY_VARIABLES["openai"] in status["openai"]:
        # A compatible server (vLLM, Ollama, llama.cpp) may need no key; it still needs the SDK installed.
        status["openai"] = ""
    return status
