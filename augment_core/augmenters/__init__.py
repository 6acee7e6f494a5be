"""The augmenters, listed in a plain registry dict (name -> class) that the studio and CLI read.

``describe_all()`` gives each augmenter's name, description and settings (name, type, default,
help, choices) as plain data, so the studio draws its controls from it. The dict lives here, not
in base.py, because base.py is what the augmenter modules import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from augment_core.augmenters.backtranslation import Backtranslation
from augment_core.augmenters.base import Augmenter, Output, PlannedCall, Setting, Usage
from augment_core.augmenters.outputs import OutputVariations
from augment_core.augmenters.paraphrase import Paraphrase
from augment_core.augmenters.refusal import Refusal
from augment_core.augmenters.templates import Templates
from augment_core.errors import InputError

if TYPE_CHECKING:
    from augment_core.llm.client import LLMClient
    from augment_core.store import Store

AUGMENTERS: dict[str, type[Augmenter]] = {
    "templates": Templates,
    "backtranslation": Backtranslation,
    "paraphrase": Paraphrase,
    "refusal": Refusal,
    "outputs": OutputVariations,
}

__all__ = ["AUGMENTERS", "Augmenter", "Output", "PlannedCall", "Setting", "Usage", "build", "describe_all"]


def describe_all() -> dict[str, dict[str, Any]]:
    """Every augmenter's name, description and settings, as plain data."""
    return {name: cls.describe() for name, cls in AUGMENTERS.items()}


def build(
    name: str, options: dict[str, Any] | None = None, *, llm: LLMClient | None = None, store: Store | None = None
) -> Augmenter:
    """The augmenter called ``name`` with ``options``; InputError for an unknown name or setting."""
    if name not in AUGMENTERS:
        raise InputError(f"unknown augmenter '{name}'; choose from {', '.join(AUGMENTERS)}")
    return AUGMENTERS[name].from_options(options or {}, llm=llm, store=store)
