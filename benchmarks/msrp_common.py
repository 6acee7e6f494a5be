"""Shared by fit_meaning_model.py and bench_msrp.py: read MSRP and turn pairs into features."""

from __future__ import annotations

import csv
import os
import sys
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from augment_core import guards, quality, scoring  # noqa: E402

DATASETS = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"


@dataclass
class Pairs:
    labels: np.ndarray  # 1 = paraphrase
    first: list[str]
    second: list[str]


def read_msrp(split: str) -> Pairs:
    """One MSRP split. The train file has one line where two rows ran together; it is split back."""
    path = DATASETS / f"msrp_{split}.tsv"
    labels, first, second = [], [], []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    for row in rows:
        while len(row) > 5:  # "...late Wednesday.0" + next row: the label digit was glued on
            head, row = row[:4] + [row[4][:-1]], [row[4][-1], *row[5:]]
            labels.append(int(head[0]))
            first.append(head[3])
            second.append(head[4])
        labels.append(int(row[0]))
        first.append(row[3])
        second.append(row[4])
    return Pairs(np.array(labels), first, second)


def similarities(pairs: Pairs, embedder: quality.Embedder) -> np.ndarray:
    a = embedder.embed(pairs.first)
    b = embedder.embed(pairs.second)
    return np.clip(np.einsum("ij,ij->i", a, b), -1.0, 1.0)


def feature_matrix(pairs: Pairs, sims: np.ndarray) -> tuple[np.ndarray, list[list[guards.Flag]]]:
    """The meaning model's features per pair (the very function scoring uses) and the guard flags."""
    rows, all_flags = [], []
    for a, b, s in zip(pairs.first, pairs.second, sims, strict=True):
        flags = guards.check(a, b)
        all_flags.append(flags)
        rows.append(scoring.features(a, b, float(s), flags))
    return np.array(rows), all_flags


def precision_recall(labels: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    tp = int(np.sum(predicted & (labels == 1)))
    return tp / max(int(predicted.sum()), 1), tp / max(int((labels == 1).sum()), 1)
