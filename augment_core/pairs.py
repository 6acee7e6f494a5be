"""`augment score-pairs`: score (original, candidate) pairs from a file, and check the judge on labelled ones.

Pairs are read with ``readers.read_records`` (JSONL, JSON, CSV, TSV, Parquet), scored by the same
path as ``augment score`` (``quality.embed_pairs`` + ``scoring.score_pair``) and judged by the one
accept rule (``review.accept_rule`` / ``review.accepts``). With labels, ``label_report`` gives the
ROC-AUC of ``meaning_preserved`` and the precision/recall of the accept rule, so users can check
the judge on their own pairs before they trust it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from augment_core.errors import DatasetFormatError
from augment_core.quality import Embedder, embed_pairs
from augment_core.readers import read_records
from augment_core.records import Flag
from augment_core.review import ReviewFilter, accepts
from augment_core.scoring import MeaningModel, Thresholds, features, score_pair

DEFAULT_COLUMNS = ("original", "candidate")
_TRUE = {"1", "true", "yes"}
_FALSE = {"0", "false", "no"}


@dataclass(frozen=True)
class TextPair:
    line: int
    original: str
    candidate: str
    label: int | None = None  # 1 = same meaning


def _label(value: Any) -> int | None:
    """0/1, true/false or yes/no (CSV gives text); None when it is none of these."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    text = str(value).strip().lower()
    if text in ("1.0", "0.0"):  # a 0/1 column written by pandas as floats
        text = text[0]
    return 1 if text in _TRUE else 0 if text in _FALSE else None


def read_pairs(
    path: str | Path, columns: Sequence[str] = DEFAULT_COLUMNS, label: str | None = None
) -> Iterator[TextPair]:
    """The pairs of a file in order; a missing or non-text cell stops with its file:line."""
    first, second = columns
    for line, record in read_records(path):
        texts = []
        for column in (first, second):
            value = record.get(column)
            if not isinstance(value, str):
                problem = "missing" if value is None else f"expected text, got {type(value).__name__}"
                raise DatasetFormatError(str(path), f"column '{column}' {problem}", line)
            texts.append(value)
        value = None
        if label is not None:
            value = _label(record.get(label))
            if value is None:
                got = record.get(label)
                raise DatasetFormatError(str(path), f"column '{label}': expected 0/1 or true/false, got {got!r}", line)
        yield TextPair(line, texts[0], texts[1], value)


def _flag(flag: Flag) -> dict[str, Any]:
    return {"kind": flag.kind, "item": flag.item, "change": flag.change}


def score_text_pairs(
    pairs: Sequence[TextPair],
    embedder: Embedder,
    thresholds: Thresholds,
    meaning: MeaningModel | None,
    rule: ReviewFilter,
) -> list[dict[str, Any]]:
    """One JSON-ready row per pair: the scores, ``accepted`` by ``rule``, the flags and the evidence."""
    originals, candidates = [p.original for p in pairs], [p.candidate for p in pairs]
    embedded = embed_pairs(originals, candidates, embedder, tokens=meaning is not None and meaning.needs_tokens)
    rows = []
    for pair, e in zip(pairs, embedded, strict=True):
        score = score_pair(str(pair.line), pair.original, pair.candidate, e.similarity, thresholds, meaning,
                           truncated=e.truncated, model_name=embedder.name, alignment=e.alignment)  # fmt: skip
        values = features(pair.original, pair.candidate, e.similarity, score.flags, e.alignment)
        used = meaning.features if meaning is not None else ("similarity",)
        evidence: dict[str, Any] = {name: round(values[name], 4) for name in used if name in values}
        if e.alignment is not None:
            evidence["unmatched_words"] = list(e.alignment.unmatched)
        evidence["new_words"] = score.new_words
        row: dict[str, Any] = {
            "line": pair.line,
            "semantic_similarity": round(score.semantic_similarity, 6),
            "meaning_preserved": score.meaning_preserved,
            "accepted": accepts(rule, score),
            "is_valid": score.is_valid,
            "truncated": score.truncated,
            "flags": [_flag(f) for f in score.flags],
            "evidence": evidence,
        }
        if pair.label is not None:
            row["label"] = pair.label
        rows.append(row)
    return rows


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float | None:
    """The probability that a random positive outscores a random negative (ties count half); None with one class."""
    ranked = sorted(zip(scores, labels, strict=True))
    positives = sum(labels)
    negatives = len(labels) - positives
    if not positives or not negatives:
        return None
    rank_sum, i = 0.0, 0
    while i < len(ranked):  # average ranks over ties
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid = (i + 1 + j) / 2
        rank_sum += mid * sum(label for _, label in ranked[i:j])
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


@dataclass(frozen=True)
class LabelReport:
    pairs: int
    positives: int
    roc_auc: float | None  # of meaning_preserved (the cosine where there is no meaning model)
    accepted: int
    precision: float | None
    recall: float | None

    def __str__(self) -> str:
        def fmt(x: float | None) -> str:
            return "n/a" if x is None else f"{x:.3f}"

        return (f"{self.pairs} labelled pairs ({self.positives} same meaning): ROC-AUC {fmt(self.roc_auc)}; "
                f"accept rule: {self.accepted} accepted, precision {fmt(self.precision)}, "
                f"recall {fmt(self.recall)}")  # fmt: skip


def label_report(rows: Sequence[dict[str, Any]]) -> LabelReport:
    """How the judge does against the labels of the scored rows."""
    labels = [int(r["label"]) for r in rows]
    scores = [r["meaning_preserved"] if r["meaning_preserved"] is not None else r["semantic_similarity"] for r in rows]
    accepted = [bool(r["accepted"]) for r in rows]
    hits = sum(a and y for a, y in zip(accepted, labels, strict=True))
    positives = sum(labels)
    return LabelReport(
        pairs=len(rows),
        positives=positives,
        roc_auc=roc_auc(labels, scores),
        accepted=sum(accepted),
        precision=hits / sum(accepted) if any(accepted) else None,
        recall=hits / positives if positives else None,
    )
