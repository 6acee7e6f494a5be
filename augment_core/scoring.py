"""Per-pair scores and the calibrated ``meaning_preserved`` probability (no model needed here).

Given an original, a candidate and their cosine similarity, this computes the seed's scores
(``is_valid``, ``length_ratio``, ``unique_words``), the optimal band, the meaning guards and a
probability that the meaning survived. The probability comes from a small logistic regression
whose coefficients live in ``meaning_model.json`` (fitted on MSRP train by
``benchmarks/fit_meaning_model.py``); nothing is trained at run time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path
from typing import Any

from augment_core import guards
from augment_core.errors import ConfigError
from augment_core.records import Flag, Score
from augment_core.settings import DEFAULT_OPTIMAL_BAND, DEFAULT_VALID_WINDOW

MEANING_MODEL_PATH = Path(__file__).with_name("meaning_model.json")



@dataclass(frozen=True)
class Thresholds:
    """The similarity window (exclusive), the optimal band (inclusive), the meaning cut-off."""

    valid_window: tuple[float, float] = DEFAULT_VALID_WINDOW
    optimal_band: tuple[float, float] = DEFAULT_OPTIMAL_BAND
    meaning_threshold: float | None = None  # None: the fitted model's own threshold

    def __post_init__(self) -> None:
        for name, (low, high) in (("valid_window", self.valid_window), ("optimal_band", self.optimal_band)):
            if not -1.0 <= low < high <= 1.0:
                raise ConfigError(f"setting quality.{name}: expected -1 <= low < high <= 1, got {low}, {high}")


# ---- lexical features --------------------------------------------------------------------------


def new_words(original: str, candidate: str) -> list[str]:
    """Distinct words of the candidate that the original lacks, in order of appearance."""
    known = set(guards.words(original))
    seen: dict[str, None] = {}
    for word in guards.words(candidate):
        if word not in known:
            seen.setdefault(word, None)
    return list(seen)


def length_ratio(original: str, candidate: str) -> float:
    """The seed's len(augmented) / len(original), in characters (an empty original counts as 1)."""
    return len(candidate) / max(len(original), 1)


# ---- the calibrated meaning model --------------------------------------------------------------

FEATURES = (
    "similarity",
    "word_jaccard",
    "missing_fraction",
    "added_fraction",
    "abs_log_length_ratio",
    "number_flags",
    "entity_flags",
    "date_flags",
    "negation_flags",
    "literal_flags",
    "bigram_overlap",
    "content_jaccard",
    "sequence_ratio",
)
# Function words left out of the content-word overlap (a paraphrase often swaps these freely).
_STOPWORDS = frozenset(
    "the a an of to in on at for by and or is are was were be been it its that this with as from has have had "
    "he she they we said".split()
)
_SEQUENCE_WORDS = 500  # the word-order match is quadratic at worst: long texts are compared by their heads


def _jaccard(a: set[Any], b: set[Any]) -> float:
    union = a | b
    return len(a & b) / len(union) if union else 1.0


def features(original: str, candidate: str, similarity: float, flags: Sequence[Flag]) -> list[float]:
    """The inputs of the meaning model, in ``FEATURES`` order (shared by fitting and scoring)."""
    wa, wb = guards.words(original), guards.words(candidate)
    a, b = set(wa), set(wb)
    kinds = [f.kind for f in flags]
    matcher = SequenceMatcher(None, wa[:_SEQUENCE_WORDS], wb[:_SEQUENCE_WORDS], autojunk=False)
    return [
        similarity,
        _jaccard(a, b),
        len(a - b) / len(a) if a else 0.0,
        len(b - a) / len(b) if b else 0.0,
        abs(math.log(max(len(candidate), 1) / max(len(original), 1))),
        float(min(3, sum(k in ("number", "quantity") for k in kinds))),
        float(min(3, kinds.count("entity"))),
        float(min(3, kinds.count("date"))),
        float(min(1, kinds.count("negation"))),
        float(min(3, sum(k in ("code", "url", "placeholder") for k in kinds))),
        _jaccard(set(zip(wa, wa[1:], strict=False)), set(zip(wb, wb[1:], strict=False))),
        _jaccard(a - _STOPWORDS, b - _STOPWORDS),
        matcher.ratio(),
    ]


@dataclass(frozen=True)
class MeaningModel:
    """A logistic regression over standardised ``FEATURES``; ``threshold`` was chosen on train."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    info: dict[str, Any]

    def probability(self, values: Sequence[float]) -> float:
        z = self.intercept
        for x, m, s, w in zip(values, self.mean, self.scale, self.coef, strict=True):
            z += w * (x - m) / s
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "threshold": self.threshold,
            "info": self.info,
        }


def load_meaning_model(path: Path = MEANING_MODEL_PATH) -> MeaningModel | None:
    """The fitted model, or None when the file is absent (scores then carry no probability)."""
    return _load_meaning_model(str(path))


@cache
def _load_meaning_model(path: str) -> MeaningModel | None:
    if not Path(path).exists():
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        model = MeaningModel(
            features=tuple(data["features"]),
            mean=tuple(float(x) for x in data["mean"]),
            scale=tuple(float(x) for x in data["scale"]),
            coef=tuple(float(x) for x in data["coef"]),
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
            info=dict(data.get("info", {})),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: not a meaning model ({exc})") from exc
    if model.features != FEATURES:
        raise ConfigError(f"{path}: fitted on features {model.features}, this code computes {FEATURES}; refit it")
    return model


# ---- one pair ----------------------------------------------------------------------------------


def score_pair(
    candidate_id: str,
    original: str,
    candidate: str,
    similarity: float,
    thresholds: Thresholds,
    meaning: MeaningModel | None,
    *,
    truncated: bool = False,
    model_name: str = "",
) -> Score:
    """Every per-pair score of one candidate, given the cosine similarity of the two texts."""
    flags = guards.check(original, candidate)
    low, high = thresholds.valid_window
    band_low, band_high = thresholds.optimal_band
    added = new_words(original, candidate)
    probability = None
    if meaning is not None:
        probability = round(meaning.probability(features(original, candidate, similarity, flags)), 6)
    return Score(
        candidate_id=candidate_id,
        semantic_similarity=similarity,
        is_valid=low < similarity < high,
        in_optimal_band=band_low <= similarity <= band_high,
        length_ratio=length_ratio(original, candidate),
        unique_words=len(added),
        new_words=added,
        flags=list(flags),
        meaning_preserved=probability,
        truncated=truncated,
        model=model_name,
    )
