"""Shared by the judge's scripts: the evidence of every pair (cached on disk), metrics, the old model.

``evidence(pairs)`` embeds each distinct text once through ``quality.Embedder.embed_with_tokens``
(the very path ``augment score`` runs) and computes ``scoring.features`` with the alignment and
the guards. The result is cached under benchmarks/.cache (not in git), keyed by the texts.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from calibration_data import Pair

from augment_core import guards, quality, scoring
from augment_core.judge_head import HEAD_PATH
from augment_core.settings import DEFAULT_VALID_WINDOW

CACHE = Path(__file__).resolve().parent / ".cache"
WINDOW = DEFAULT_VALID_WINDOW

# The MSRP-only model that shipped before (13 features, version 1), kept to compare against.
OLD_MODEL = scoring.MeaningModel(
    features=("similarity", "word_jaccard", "missing_fraction", "added_fraction", "abs_log_length_ratio",
              "number_flags", "entity_flags", "date_flags", "negation_flags", "literal_flags", "bigram_overlap",
              "content_jaccard", "sequence_ratio"),
    mean=(0.793064, 0.516727, 0.329826, 0.327626, 0.171937, 0.575898, 0.886834, 0.223341, 0.049782, 0.004625,
          0.339253, 0.503552, 0.616399),
    scale=(0.140943, 0.168095, 0.161327, 0.161128, 0.125534, 1.005943, 0.988635, 0.51306, 0.217495, 0.094635,
           0.179537, 0.17831, 0.15725),
    coef=(0.547658, 2.049824, 0.795861, 0.765658, -0.294888, -0.335375, 0.071655, 0.052053, -0.273819, 0.005281,
          -1.060253, 0.420751, 0.703811),
    intercept=1.038862,
    threshold=0.6947,
    info={"fitted_on": "msrp_train.tsv"},
)  # fmt: skip


@dataclass
class Evidence:
    labels: np.ndarray
    domains: np.ndarray
    sources: np.ndarray
    similarity: np.ndarray
    table: dict[str, np.ndarray]  # feature name -> values
    flagged: np.ndarray  # any guard flag

    def matrix(self, names: tuple[str, ...]) -> np.ndarray:
        return np.column_stack([self.table[n] for n in names])

    def subset(self, mask: np.ndarray) -> Evidence:
        return Evidence(self.labels[mask], self.domains[mask], self.sources[mask], self.similarity[mask],
                        {k: v[mask] for k, v in self.table.items()}, self.flagged[mask])  # fmt: skip


def digest_of(data: bytes) -> str:
    """The name of a cache file under CACHE for what ``data`` spells (64 bits of its hash)."""
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def evidence(pairs: list[Pair], embedder: quality.Embedder | None = None) -> Evidence:
    """The evidence of every pair as ``augment score`` computes it, the shipped judge head's cosine included."""
    head = HEAD_PATH.read_bytes() if HEAD_PATH.exists() else b""  # a new head makes new evidence
    digest = digest_of(repr([(p.first, p.second) for p in pairs]).encode() + head)
    path = CACHE / f"evidence-{digest}.pkl"
    if path.exists():
        rows, flagged, sims = pickle.loads(path.read_bytes())
    else:
        embedder = embedder or quality.Embedder.load(batch_size=64, token_cache_size=200_000)
        texts = list(dict.fromkeys(t for p in pairs for t in (p.first, p.second)))
        vectors, _, tokens = embedder.embed_with_tokens(texts)
        at = {t: i for i, t in enumerate(texts)}
        rows, flagged, sims = [], [], []
        for p in pairs:
            i, j = at[p.first], at[p.second]
            sim = float(np.clip(vectors[i] @ vectors[j], -1.0, 1.0))
            flags = guards.check(p.first, p.second)
            rows.append(scoring.features(p.first, p.second, sim, flags, scoring.align(tokens[i], tokens[j])))
            flagged.append(bool(flags))
            sims.append(sim)
        CACHE.mkdir(exist_ok=True)
        path.write_bytes(pickle.dumps((rows, flagged, sims)))
    table = {name: np.array([r[name] for r in rows]) for name in scoring.FEATURES if rows and name in rows[0]}
    return Evidence(
        labels=np.array([p.label for p in pairs]),
        domains=np.array([p.domain for p in pairs]),
        sources=np.array([p.source for p in pairs]),
        similarity=np.array(sims),
        table=table,
        flagged=np.array(flagged),
    )


def with_judged(ev: Evidence, pairs: list[Pair], judged: dict[tuple[str, str], float]) -> Evidence:
    """``ev`` with each pair's judge cosine from a head that never saw the pair (train_judge_head.py).

    The shipped head was trained on these very pairs: its cosines of them are too good, and a
    model fitted on them would trust the head more than it deserves on new text.
    """
    table = dict(ev.table)
    table["judge_similarity"] = np.array([judged[(p.first, p.second)] for p in pairs])
    return Evidence(ev.labels, ev.domains, ev.sources, ev.similarity, table, ev.flagged)


def valid(ev: Evidence) -> np.ndarray:
    """The seed's window, is_valid."""
    return (ev.similarity > WINDOW[0]) & (ev.similarity < WINDOW[1])


def precision_recall(labels: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    tp = int(np.sum(predicted & (labels == 1)))
    return tp / max(int(predicted.sum()), 1), tp / max(int((labels == 1).sum()), 1)
