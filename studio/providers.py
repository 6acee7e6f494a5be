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
    api_key: str | None = field(default=None, repr=False)


def provider_status(typed_key: str | None = None) -> dict[str, str]:
    """{provider: "" when usable, else the reason}; a key from secrets or the session counts too."""
    import augment_core.llm as llm

    available = getattr(llm, "available_providers", None)
    if available is None:  # TODO(studio): drop once augment_core.llm lands available_providers
        return {"local": "the LLM providers are not installed in this build"}
    status = dict(available())
    for name, variable in KEY_VARIABLES.items():
        if status.get(name) and variable in status[name] and (typed_key or secret(variable)):
            status[name] = ""
    return status
