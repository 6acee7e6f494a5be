"""The MSRP test table: how well each judge of "meaning preserved" agrees with human labels.

The shipped model (augment_core/meaning_model.json, fitted on every calibration domain by
benchmarks/fit_meaning_model.py, MSRP test never read there) is scored on msrp_test.tsv once.
Judges: the seed's window alone (0.70 < cosine < 0.98), the window with no guard flag, the
shipped meaning_preserved at its threshold, and the window with it (the accept rule).
Run: .venv/bin/python benchmarks/bench_msrp.py
"""

from __future__ import annotations

import numpy as np
from calibration_data import msrp_test
from judge_common import evidence, precision_recall, valid
from sklearn.metrics import roc_auc_score

from augment_core import scoring


def main() -> None:
    meaning = scoring.load_meaning_model()
    assert meaning is not None, "run benchmarks/fit_meaning_model.py first"
    ev = evidence(msrp_test())
    prob = np.array([meaning.probability([float(v) for v in row]) for row in ev.matrix(meaning.features)])
    y = ev.labels
    window = valid(ev)
    clean = ~ev.flagged
    combined = prob >= meaning.threshold
    rows = [
        ("is_valid alone (seed window)", window),
        ("is_valid and no guard flag", window & clean),
        (f"meaning_preserved >= {meaning.threshold:.3f}", combined),
        ("is_valid and meaning_preserved", window & combined),
    ]
    print(f"msrp_test.tsv: {len(y)} pairs, {int(y.sum())} paraphrases (base rate {y.mean():.3f})")
    print(f"guards flag {ev.flagged.mean():.1%} of pairs: {ev.flagged[y == 0].mean():.1%} of non-paraphrases, "
          f"{ev.flagged[y == 1].mean():.1%} of paraphrases")
    print()
    print(f"ROC-AUC  cosine similarity     {roc_auc_score(y, ev.similarity):.3f}")
    print(f"ROC-AUC  meaning_preserved     {roc_auc_score(y, prob):.3f}")
    print()
    print(f"{'judge':<36} {'precision':>9} {'recall':>7} {'accepts non-para':>17}")
    for name, predicted in rows:
        p, r = precision_recall(y, predicted)
        print(f"{name:<36} {p:>9.3f} {r:>7.3f} {predicted[y == 0].mean():>17.1%}")
    p, r = precision_recall(y, window & combined)
    print()
    print(f"accept rule on MSRP test: precision {p:.4f} at recall {r:.4f}")


if __name__ == "__main__":
    main()
