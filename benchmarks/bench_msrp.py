"""The MSRP test table: how well each judge of "meaning preserved" agrees with human labels.

Fitted on msrp_train.tsv only (benchmarks/fit_meaning_model.py); this reads msrp_test.tsv once.
Judges: the seed's window alone (0.70 < cosine < 0.98), the window with no guard flag, the
combined meaning_preserved at the threshold chosen on train, and the window with the combined score.
Run: .venv/bin/python benchmarks/bench_msrp.py
"""

from __future__ import annotations

import numpy as np
from msrp_common import feature_matrix, precision_recall, read_msrp, similarities
from sklearn.metrics import roc_auc_score

from augment_core import quality, scoring
from augment_core.settings import DEFAULT_VALID_WINDOW


def main() -> None:
    test = read_msrp("test")
    meaning = scoring.load_meaning_model()
    assert meaning is not None, "run benchmarks/fit_meaning_model.py first"
    sims = similarities(test, quality.Embedder.load())
    x, flags = feature_matrix(test, sims)
    prob = np.array([meaning.probability(row) for row in x])
    y = test.labels
    low, high = DEFAULT_VALID_WINDOW
    valid = (sims > low) & (sims < high)
    clean = np.array([not f for f in flags])
    combined = prob >= meaning.threshold
    rows = [
        ("is_valid alone (seed window)", valid),
        ("is_valid and no guard flag", valid & clean),
        (f"meaning_preserved >= {meaning.threshold:.3f}", combined),
        ("is_valid and meaning_preserved", valid & combined),
    ]
    flagged = ~clean
    print(f"msrp_test.tsv: {len(y)} pairs, {int(y.sum())} paraphrases (base rate {y.mean():.3f})")
    print(f"guards flag {flagged.mean():.1%} of pairs: {flagged[y == 0].mean():.1%} of non-paraphrases, "
          f"{flagged[y == 1].mean():.1%} of paraphrases")
    print()
    print(f"ROC-AUC  cosine similarity     {roc_auc_score(y, sims):.3f}")
    print(f"ROC-AUC  meaning_preserved     {roc_auc_score(y, prob):.3f}")
    print()
    print(f"{'judge':<36} {'precision':>9} {'recall':>7} {'accepts non-para':>17}")
    for name, predicted in rows:
        p, r = precision_recall(y, predicted)
        print(f"{name:<36} {p:>9.3f} {r:>7.3f} {predicted[y == 0].mean():>17.1%}")
    p, r = precision_recall(y, combined)
    print()
    print(f"combined score on test: precision {p:.4f} at recall {r:.4f} (goal: >= 0.85 at >= 0.70)")


if __name__ == "__main__":
    main()
