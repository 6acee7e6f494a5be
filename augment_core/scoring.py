"""Per-pair scores and the calibrated ``meaning_preserved`` probability (no model needed here).

Given an original, a candidate and their cosine similarity, this computes the seed's scores
(``is_valid``, ``length_ratio``, ``unique_words``), the optimal band, the meaning guards and a
probability that the meaning survived. The probability comes from a small logistic regression
whose coefficients live in ``meaning_model.json`` (fitted on news, STS, question and
Alpaca-built pairs by ``benchmarks/fit_meaning_model.py``); nothing is trained at run time. Its
evidence: the cosine, the guards, word overlap and the token alignment (``align``) of the two
texts' word-piece embeddings from the same encoder pass.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

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


# ---- token alignment (BERTScore-style) -----------------------------------------------------------

UNMATCHED = 0.5  # an original word whose best counterpart in the candidate is below this has none


@dataclass(frozen=True)
class TokenVectors:
    """A text's word-piece embeddings (unit rows, [CLS]/[SEP] left out) and the pieces themselves.

    ``judge``: the judge head's unit vector of the text (judge_head.py), from the same pass; None
    for a model without a head.
    """

    vectors: npt.NDArray[np.float32]
    pieces: tuple[str, ...]
    judge: npt.NDArray[np.float32] | None = None


@dataclass(frozen=True)
class Alignment:
    """Greedy matching of token embeddings (Zhang et al. 2020, BERTScore), both directions.

    ``recall``: how much of the original the candidate covers (mean best cosine of each original
    word piece); ``precision``: the same the other way; ``worst``: the original word with the
    poorest counterpart (a swapped name or number shows here while the pooled vector hides it);
    ``unmatched``: the original words without a counterpart, for a reviewer to read;
    ``unmatched_candidate``: the candidate's words without one in the original (what came in instead);
    ``judge_similarity``: the cosine of the two texts' judge-head vectors (None without a head).
    """

    recall: float
    precision: float
    worst: float
    unmatched: tuple[str, ...] = ()
    unmatched_candidate: tuple[str, ...] = ()
    judge_similarity: float | None = None


def _words_of(pieces: Sequence[str]) -> list[tuple[str, list[int]]]:
    """Word pieces regrouped into words ("##" continues a word): (word, piece indices)."""
    grouped: list[tuple[str, list[int]]] = []
    for i, piece in enumerate(pieces):
        if piece.startswith("##") and grouped:
            word, idx = grouped[-1]
            grouped[-1] = (word + piece[2:], [*idx, i])
        else:
            grouped.append((piece, [i]))
    return grouped


def align(original: TokenVectors, candidate: TokenVectors) -> Alignment:
    """The alignment of two texts; punctuation pieces count for coverage but never as the worst word."""
    judged = None
    if original.judge is not None and candidate.judge is not None:
        judged = float(np.clip(original.judge @ candidate.judge, -1.0, 1.0))
    if not len(original.pieces) or not len(candidate.pieces):
        same = float(len(original.pieces) == len(candidate.pieces))
        return Alignment(same, same, same, judge_similarity=judged)
    sims = original.vectors @ candidate.vectors.T
    best_a = sims.max(axis=1)
    best_b = sims.max(axis=0)
    matches_a = _word_matches(original.pieces, best_a)
    worst = min((score for _, score in matches_a), default=1.0)
    return Alignment(
        float(best_a.mean()),
        float(best_b.mean()),
        worst,
        _below(matches_a),
        _below(_word_matches(candidate.pieces, best_b)),
        judged,
    )


def _word_matches(pieces: Sequence[str], best: npt.NDArray[np.float32]) -> list[tuple[str, float]]:
    """(word, mean best cosine of its pieces) for each word with a letter or digit, in reading order."""
    return [(word, float(best[idx].mean())) for word, idx in _words_of(pieces) if any(ch.isalnum() for ch in word)]


def _below(matches: Sequence[tuple[str, float]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(word for word, score in matches if score < UNMATCHED))


SHOWN_UNMATCHED = 4  # words kept per side on a score: what a reviewer reads at a glance


def _plain(word: str) -> str:
    """A word as the uncased tokenizer sees it: lower case, accents stripped."""
    return "".join(ch for ch in unicodedata.normalize("NFD", word.lower()) if not unicodedata.combining(ch))


def _spelled(words: Sequence[str], text: str) -> list[str]:
    """``words`` (word pieces regrouped) in the spelling ``text`` has them ("paris" -> "Paris"), where found."""
    spelling: dict[str, str] = {}
    for found in re.findall(r"\w+", text):
        spelling.setdefault(_plain(found), found)
    return [spelling.get(word, word) for word in words if word != "[UNK]"]


def unmatched_words(alignment: Alignment, original: str, candidate: str) -> dict[str, list[str]]:
    """The first few words of each side without a counterpart, as stored on a score for the review card."""
    return {
        "original": _spelled(alignment.unmatched, original)[:SHOWN_UNMATCHED],
        "candidate": _spelled(alignment.unmatched_candidate, candidate)[:SHOWN_UNMATCHED],
    }


# ---- the calibrated meaning model --------------------------------------------------------------

# Every feature this code can compute; a model file names the ones it was fitted on.
FEATURES = (
    "similarity",
    "judge_similarity",
    "token_recall",
    "token_precision",
    "token_worst",
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
TOKEN_FEATURES = frozenset({"token_recall", "token_precision", "token_worst", "judge_similarity"})
MODEL_VERSION = 3
# Function words left out of the content-word overlap (a paraphrase often swaps these freely).
_STOPWORDS = frozenset(
    "the a an of to in on at for by and or is are was were be been it its that this with as from has have had "
    "he she they we said".split()
)
_SEQUENCE_WORDS = 500  # the word-order match is quadratic at worst: long texts are compared by their heads


def _jaccard(a: set[Any], b: set[Any]) -> float:
    union = a | b
    return len(a & b) / len(union) if union else 1.0


def features(
    original: str,
    candidate: str,
    similarity: float,
    flags: Sequence[Flag],
    alignment: Alignment | None = None,
) -> dict[str, float]:
    """The inputs of the meaning model by name (shared by fitting and scoring); token ones need ``alignment``."""
    wa, wb = guards.words(original), guards.words(candidate)
    a, b = set(wa), set(wb)
    kinds = [f.kind for f in flags]
    matcher = SequenceMatcher(None, wa[:_SEQUENCE_WORDS], wb[:_SEQUENCE_WORDS], autojunk=False)
    values = {
        "similarity": similarity,
        "word_jaccard": _jaccard(a, b),
        "missing_fraction": len(a - b) / len(a) if a else 0.0,
        "added_fraction": len(b - a) / len(b) if b else 0.0,
        "abs_log_length_ratio": abs(math.log(max(len(candidate), 1) / max(len(original), 1))),
        "number_flags": float(min(3, sum(k in ("number", "quantity") for k in kinds))),
        "entity_flags": float(min(3, kinds.count("entity"))),
        "date_flags": float(min(3, kinds.count("date"))),
        "negation_flags": float(min(1, kinds.count("negation"))),
        "literal_flags": float(min(3, sum(k in ("code", "url", "placeholder") for k in kinds))),
        "bigram_overlap": _jaccard(set(zip(wa, wa[1:], strict=False)), set(zip(wb, wb[1:], strict=False))),
        "content_jaccard": _jaccard(a - _STOPWORDS, b - _STOPWORDS),
        "sequence_ratio": matcher.ratio(),
    }
    if alignment is not None:
        values |= {
            "token_recall": alignment.recall,
            "token_precision": alignment.precision,
            "token_worst": alignment.worst,
        }
        if alignment.judge_similarity is not None:
            values["judge_similarity"] = alignment.judge_similarity
    return values


@dataclass(frozen=True)
class MeaningModel:
    """A logistic regression over standardised features; ``threshold`` was chosen on the training domains.

    The similarity coefficient is fitted with a lower bound of 0, so the probability never falls
    when the cosine rises and the other evidence stays the same.
    """

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    info: dict[str, Any]

    @property
    def needs_tokens(self) -> bool:
        return bool(TOKEN_FEATURES & set(self.features))

    def probability(self, values: dict[str, float] | Sequence[float]) -> float:
        row = [values[name] for name in self.features] if isinstance(values, dict) else values
        z = self.intercept
        for x, m, s, w in zip(row, self.mean, self.scale, self.coef, strict=True):
            z += w * (x - m) / s
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "version": MODEL_VERSION,
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
        version = int(data.get("version", 1))
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
    unknown = [name for name in model.features if name not in FEATURES]
    if version > MODEL_VERSION or unknown or not len(model.features) == len(model.coef) == len(model.mean):
        raise ConfigError(f"{path}: version {version} with features {unknown or model.features}; refit it")
    for name in ("similarity", "judge_similarity"):
        if name in model.features and model.coef[model.features.index(name)] < 0:
            raise ConfigError(f"{path}: a negative {name} coefficient would not be monotone in cosine; refit it")
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
    alignment: Alignment | None = None,
) -> Score:
    """Every per-pair score of one candidate, given the cosine similarity of the two texts.

    A model that reads token features gives no probability without the ``alignment`` (nor one that
    reads ``judge_similarity`` with a model that has no judge head).
    """
    flags = guards.check(original, candidate)
    low, high = thresholds.valid_window
    band_low, band_high = thresholds.optimal_band
    added = new_words(original, candidate)
    probability = None
    if meaning is not None:
        values = features(original, candidate, similarity, flags, alignment)
        if all(name in values for name in meaning.features):  # not: token features without the alignment
            probability = round(meaning.probability(values), 6)
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
        unmatched=None if alignment is None else unmatched_words(alignment, original, candidate),
    )
