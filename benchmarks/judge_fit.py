"""Fitting the meaning model: a logistic regression with a non-negative cosine coefficient, per-domain weights.

Shared by fit_meaning_model.py (fit on every domain, write the model file) and bench_judge_domains.py
(fit on all domains but one, evaluate the one left out). Every domain weighs the same in the fit,
whatever its size, so the 11,500 question pairs do not drown the others. The coefficient of
``similarity`` is bounded below by 0 (L-BFGS-B), which makes the score monotone in cosine when
the other evidence is equal. The accept threshold is chosen on the training domains only.
"""

from __future__ import annotations

import numpy as np
from judge_common import Evidence, precision_recall, valid
from scipy.optimize import minimize

from augment_core import scoring

# The features the shipped model reads, chosen greedily on the leave-one-domain-out table (each step
# took the feature that kept the worst held-out domain highest against cosine; see the README).
# negation_flags is left out: it lifts the alpaca domain but costs the question domain 0.006 of
# ROC-AUC, below cosine; a negation change still blocks bulk approval as a guard flag. entity_flags
# and date_flags were taken too but fitted to 0 under the sign bound (they fire on 69 % of the news
# paraphrases), so they are left out. judge_similarity (the judge head's cosine, judge_head.py) came last
# and pays most where its domain was trained on (questions 0.908 cross-fitted, 0.902 blended below).
FEATURES = (
    "similarity",
    "judge_similarity",
    "token_worst",
    "literal_flags",
    "number_flags",
    "bigram_overlap",
)
# The judge head's cosine is fitted blended with the seed's cosine, (1 - JUDGE_BLEND) * judge + JUDGE_BLEND
# * cosine: a head scores a domain it was not trained on below the plain cosine (questions held out:
# 0.851 against 0.869), and the blend hedges. 0.3 is the smallest on the grid 0, 0.1, ..., 0.6 at which
# every domain held out is at least 0.002 above the cosine (questions +0.003); the domains trained on pay
# for it (questions cross-fitted 0.908 -> 0.902). The model file keeps the two cosines as two features.
JUDGE_BLEND = 0.3
L2 = 1.0  # on standardised features, per domain-weighted pair mass (like sklearn's C=1 on n pairs)
RECALL_TARGET = 0.72  # of the accept rule, on every training domain: a margin above the 0.70 goal


def domain_weights(ev: Evidence) -> np.ndarray:
    """Weights that give every domain the same total mass, and the whole set a mass of its size."""
    weights = np.zeros(len(ev.labels))
    domains = np.unique(ev.domains)
    for d in domains:
        mask = ev.domains == d
        weights[mask] = len(ev.labels) / (len(domains) * mask.sum())
    return weights


def _bound(name: str) -> tuple[float | None, float | None]:
    """Signs fixed by what the evidence means: more similarity never hurts, a guard flag never helps."""
    if name in ("similarity", "judge_similarity", "token_worst", "token_recall", "token_precision"):
        return (0.0, None)
    if name.endswith("_flags"):
        return (None, 0.0)
    return (None, None)


def fit(ev: Evidence, names: tuple[str, ...] = FEATURES) -> scoring.MeaningModel:
    raw = ev.matrix(names)
    x = raw.copy()
    blended = "judge_similarity" in names and "similarity" in names
    j, s = (names.index("judge_similarity"), names.index("similarity")) if blended else (-1, -1)
    if blended:
        x[:, j] = (1 - JUDGE_BLEND) * raw[:, j] + JUDGE_BLEND * raw[:, s]
    y = ev.labels.astype(float)
    w = domain_weights(ev)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        logits = z @ theta[1:] + theta[0]
        p = 1.0 / (1.0 + np.exp(-logits))
        eps = 1e-12
        nll = -np.sum(w * (y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))
        grad_logit = w * (p - y)
        grad = np.concatenate([[grad_logit.sum()], z.T @ grad_logit + L2 * theta[1:]])
        return float(nll + 0.5 * L2 * np.sum(theta[1:] ** 2)), grad

    bounds = [(None, None)] + [_bound(n) for n in names]
    result = minimize(loss, np.zeros(len(names) + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    coef = result.x[1:].copy()
    if blended:
        # c * (blend - its mean) / its scale, spelled over the two raw cosines: the same logits, intercept unchanged.
        raw_scale = max(float(raw[:, j].std()), 1e-12)
        coef[s] += coef[j] * JUDGE_BLEND * scale[s] / scale[j]
        coef[j] *= (1 - JUDGE_BLEND) * raw_scale / scale[j]
        mean[j], scale[j] = raw[:, j].mean(), raw_scale
    model = scoring.MeaningModel(
        features=names,
        mean=tuple(round(float(v), 6) for v in mean),
        scale=tuple(round(float(v), 6) for v in scale),
        coef=tuple(round(float(v), 6) for v in coef),
        intercept=round(float(result.x[0]), 6),
        threshold=0.5,
        info={},
    )
    return choose_threshold(model, ev)


def probabilities(model: scoring.MeaningModel, ev: Evidence) -> np.ndarray:
    x = ev.matrix(model.features)
    z = (x - np.array(model.mean)) / np.array(model.scale)
    return 1.0 / (1.0 + np.exp(-(z @ np.array(model.coef) + model.intercept)))


def choose_threshold(model: scoring.MeaningModel, ev: Evidence) -> scoring.MeaningModel:
    """The highest threshold at which the accept rule (window and score) keeps RECALL_TARGET on every training domain.

    Recall counts every positive of a domain, also those the window turns away, so the target can
    be out of reach; then the mean recall over the domains has to reach it instead.
    """
    prob = probabilities(model, ev)
    window = valid(ev)
    best_all, best_mean = 0.0, 0.0
    for t in np.round(np.linspace(0.02, 0.98, 241), 3):
        accepted = window & (prob >= t)
        recalls = [precision_recall(ev.labels[m], accepted[m])[1] for d in np.unique(ev.domains)
                   if (m := ev.domains == d).any()]  # fmt: skip
        if min(recalls) >= RECALL_TARGET:
            best_all = float(t)
        if np.mean(recalls) >= RECALL_TARGET:
            best_mean = float(t)
    threshold = best_all or best_mean or 0.02
    return scoring.MeaningModel(model.features, model.mean, model.scale, model.coef, model.intercept,
                                threshold, model.info)  # fmt: skip
