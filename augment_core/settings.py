"""The settings a user can change (``augment settings``), each checked by the module that reads it.

Values live in the store's settings table as JSON; each module keeps reading its own keys with
its own defaults. This module only lists them and refuses a value its reader would reject.
"""

from __future__ import annotations

import json
from typing import Any

from augment_core.errors import AugmentError, InputError
from augment_core.llm.pricing import SETTING_KEY as PRICES_KEY
from augment_core.llm.pricing import load_prices
from augment_core.mixing import SETTING_KEYS as MIX_KEYS
from augment_core.mixing import mix_settings
from augment_core.quality import DIVERSITY_SAMPLE_KEY, MODEL_KEY, thresholds_from_store
from augment_core.review import AGREEMENT_KEY, MIN_RESPONSES_KEY, review_rule
from augment_core.scoring import MEANING_THRESHOLD_KEY, OPTIMAL_BAND_KEY, VALID_WINDOW_KEY
from augment_core.store import Store

SETTINGS: dict[str, str] = {
    VALID_WINDOW_KEY: "validity window [low, high] of semantic_similarity, exclusive (default [0.7, 0.98])",
    OPTIMAL_BAND_KEY: "optimal band [low, high], inclusive (default [0.75, 0.95])",
    MEANING_THRESHOLD_KEY: "meaning_preserved cut-off for bulk approval (default: the one fitted on MSRP train)",
    MODEL_KEY: "sentence-transformers model name or path (default: the bundled all-MiniLM-L6-v2)",
    DIVERSITY_SAMPLE_KEY: "texts sampled for the mean pairwise similarity (default 1000)",
    MIX_KEYS["ratio"]: 'target originals:augmented, e.g. "1:2" (default)',
    MIX_KEYS["max_augmented_share"]: "cap on the augmented share of an export (default 0.7)",
    MIX_KEYS["max_refusal_share"]: "cap on refusal examples in an export (default 0.1)",
    MIX_KEYS["seed"]: "tie-break seed of the mix (default 0)",
    PRICES_KEY: 'prices per model, USD per million tokens: {"model": {"input": 3, "output": 15}}',
    MIN_RESPONSES_KEY: "reviewers' responses a candidate needs before it is decided (default 1)",
    AGREEMENT_KEY: "how those responses decide: any (the latest), majority or unanimous (default any)",
}


def _check(store: Store) -> None:
    """Read every setting the way its module does; raises on a value the module would reject."""
    thresholds_from_store(store)
    mix_settings(store)
    load_prices(store)
    review_rule(store)
    int(store.get_setting(DIVERSITY_SAMPLE_KEY, 1000))


def parse_value(raw: str) -> Any:
    """JSON where it parses (numbers, lists, objects), else the text itself ("1:2", a model path)."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def check_key(key: str) -> None:
    if key not in SETTINGS:
        raise InputError(f"unknown setting '{key}'; known: {', '.join(SETTINGS)}")


def change_setting(store: Store, key: str, raw: str | None) -> None:
    """Set ``key`` to ``raw`` (None: back to the default); a value its reader rejects is not kept."""
    check_key(key)
    previous = store.get_setting(key)
    if raw is None:
        store.delete_setting(key)
        return
    store.set_setting(key, parse_value(raw))
    try:
        _check(store)
    except (AugmentError, TypeError, ValueError) as exc:
        if previous is None:
            store.delete_setting(key)
        else:
            store.set_setting(key, previous)
        raise InputError(f"setting {key} = {raw}: {exc}") from None


def current_settings(store: Store) -> dict[str, Any]:
    """The stored value of every known setting (None where its default applies)."""
    return {key: store.get_setting(key) for key in SETTINGS}
