"""Diversity of a dataset's instructions: distinct-n and the mean pairwise similarity, before and after.

Shown on Insights and by ``augment stats --diversity``: originals alone against originals plus the
approved candidates (their text, or the reviewer's edit), so a curator sees what the augmentation added.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from augment_core import guards
from augment_core.quality import Embedder, Vectors
from augment_core.records import CandidateKind, Dataset, effective_text, get_field, instruction_fields
from augment_core.settings import DIVERSITY_SAMPLE_KEY, setting
from augment_core.store import Store


@dataclass(frozen=True)
class Diversity:
    """Lexical and semantic spread of a set of instructions (higher distinct-n, lower similarity: more diverse)."""

    texts: int
    distinct_1: float
    distinct_2: float
    mean_pairwise_similarity: float | None  # over ``sampled`` texts; None when not computed
    sampled: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def distinct_n(texts: Iterable[str], n: int) -> float:
    """Distinct n-grams over all n-grams of the texts (Li et al. 2016); 0 when there are none."""
    total = 0
    seen: set[tuple[str, ...]] = set()
    for text in texts:
        tokens = guards.words(text)
        grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else 0.0


def mean_pairwise_similarity(vectors: Vectors) -> float:
    """Mean cosine over all pairs i < j of unit vectors, exactly, in O(n):

    sum over i != j of v_i . v_j = |sum v|^2 - n.
    """
    n = len(vectors)
    if n < 2:
        return 0.0
    total = vectors.astype(np.float64).sum(axis=0)
    return float((total @ total - n) / (n * (n - 1)))


def diversity(texts: Sequence[str], embedder: Embedder | None, sample: int = 1000, seed: int = 0) -> Diversity:
    """distinct-1/2 over all ``texts``; the mean pairwise similarity over a fixed random sample."""
    similarity = None
    chosen: Sequence[str] = texts
    if embedder is not None and len(texts) >= 2:
        if len(texts) > sample:
            chosen = random.Random(seed).sample(list(texts), sample)
        similarity = mean_pairwise_similarity(embedder.embed(chosen))
    return Diversity(
        texts=len(texts),
        distinct_1=distinct_n(texts, 1),
        distinct_2=distinct_n(texts, 2),
        mean_pairwise_similarity=similarity,
        sampled=len(chosen) if similarity is not None else 0,
    )


def instruction_text(record: dict[str, Any], schema: str) -> str:
    """The instruction side of a record as one text (chat: the user turns joined)."""
    return "\n".join(get_field(record, path) for path in instruction_fields(record, schema))


def dataset_diversity(
    store: Store, dataset: Dataset, embedder: Embedder | None = None, sample: int | None = None
) -> dict[str, Diversity]:
    """Diversity of the instructions, originals alone and originals plus approved candidates.

    An approved rewrite of an instruction adds its new text (or the reviewer's edit); a rewrite of
    an output adds its example's instruction again, which is what the fine-tuning set will hold.
    Without an embedder only distinct-n is computed.
    """
    sample = int(setting(store, DIVERSITY_SAMPLE_KEY)) if sample is None else sample
    base = [instruction_text(e.record, dataset.schema) for batch in store.iter_examples(dataset.id) for e in batch]
    added: list[str] = []
    for approved in store.iter_approved_candidates(dataset.id):
        examples = store.get_examples({c.example_id for c, _ in approved if c.example_id is not None})
        for candidate, decision in approved:
            example = examples.get(candidate.example_id) if candidate.example_id is not None else None
            if candidate.kind != CandidateKind.REWRITE or example is None:
                if candidate.record is not None:
                    added.append(instruction_text(candidate.record, dataset.schema))
                continue
            text = effective_text(candidate, decision)
            paths = instruction_fields(example.record, dataset.schema)
            parts = [text if path == candidate.target_field else get_field(example.record, path) for path in paths]
            added.append("\n".join(parts))
    return {
        "originals": diversity(base, embedder, sample),
        "with_approved": diversity(base + added, embedder, sample),
    }
