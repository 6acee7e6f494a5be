"""Leave-one-domain-out table of the meaning judge, MSRP test, guard false alarms, the reliability diagram.

For each calibration domain (benchmarks/calibration_data.py): fit on the other domains
(judge_fit.fit, threshold chosen there), evaluate the held-out one. Judges: raw cosine (a logistic
fit of cosine alone, same threshold rule), the old MSRP-only model (its coefficients and threshold
are in judge_common.OLD_MODEL), and the new score. The accept rule is is_valid (0.70 < cosine <
0.98) and meaning_preserved >= threshold. MSRP test is scored by the model fitted on every domain.
The held-out probabilities of all domains together draw docs/reliability.png (when matplotlib is
installed). Run: .venv/bin/python benchmarks/train_judge_head.py --ship --lodo (once), then
.venv/bin/python benchmarks/bench_judge_domains.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from calibration_data import DOMAINS, calibration_pairs, msrp_test
from judge_common import OLD_MODEL, Evidence, evidence, precision_recall, valid, with_judged
from judge_fit import FEATURES, fit, probabilities
from sklearn.metrics import roc_auc_score
from train_judge_head import held_out_judged

DOCS = Path(__file__).resolve().parent.parent / "docs"


def row(name: str, ev: Evidence, prob: np.ndarray, threshold: float) -> str:
    accepted = valid(ev) & (prob >= threshold)
    p, r = precision_recall(ev.labels, accepted)
    auc = roc_auc_score(ev.labels, prob)
    return f"  {name:<22} ROC-AUC {auc:.3f}   accept (t={threshold:.3f}) precision {p:.3f} recall {r:.3f}"


def best_cosine_precision(ev: Evidence, recall: float = 0.70) -> float:
    """The best precision any cosine threshold alone reaches at the given recall (no window)."""
    order = np.argsort(-ev.similarity)
    tp = np.cumsum(ev.labels[order] == 1)
    recalls, precisions = tp / max(int(ev.labels.sum()), 1), tp / np.arange(1, len(order) + 1)
    return float(precisions[recalls >= recall].max())


def reliability(prob: np.ndarray, labels: np.ndarray, domains: np.ndarray, path: Path) -> str:
    bins = np.linspace(0, 1, 11)
    which = np.clip(np.digitize(prob, bins) - 1, 0, 9)
    lines = []
    for b in range(10):
        m = which == b
        if m.any():
            lines.append(f"  {bins[b]:.1f}-{bins[b + 1]:.1f}: {int(m.sum()):>5} pairs, "
                         f"mean score {prob[m].mean():.3f}, "
                         f"same meaning {labels[m].mean():.3f}")  # fmt: skip
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "\n".join(lines) + "\n  (matplotlib not installed: no PNG)"
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    for name in [*DOMAINS, "all"]:
        m = np.ones(len(labels), bool) if name == "all" else domains == name
        which_d = which[m]
        xs = [prob[m][which_d == b].mean() for b in range(10) if (which_d == b).sum() >= 20]
        ys = [labels[m][which_d == b].mean() for b in range(10) if (which_d == b).sum() >= 20]
        ax.plot(xs, ys, marker="o", linewidth=2.5 if name == "all" else 1, label=name)
    ax.set_xlabel("meaning_preserved (held-out domain)")
    ax.set_ylabel("fraction that preserve meaning")
    ax.set_title("Reliability, leave-one-domain-out")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return "\n".join(lines) + f"\n  wrote {path}"


def main() -> None:
    pairs = calibration_pairs()
    shipped = evidence(pairs)
    held_prob = np.zeros(len(shipped.labels))
    print(f"features: {', '.join(FEATURES)}")
    for domain in DOMAINS:
        # The judge head too never saw the held-out domain (train_judge_head.py --lodo).
        ev = with_judged(shipped, pairs, held_out_judged(pairs, f"lodo-{domain}"))
        train, test = ev.subset(ev.domains != domain), ev.subset(ev.domains == domain)
        new = fit(train)
        cosine = fit(train, ("similarity",))
        prob = probabilities(new, test)
        held_prob[ev.domains == domain] = prob
        clean = test.subset(test.labels == 1)
        print(f"\nheld out: {domain} ({len(test.labels)} pairs, base rate {test.labels.mean():.3f}; the window "
              f"alone passes {valid(clean).mean():.1%} of the positives; guards flag {clean.flagged.mean():.1%} "
              f"of the positives; best cosine precision at recall 0.70: {best_cosine_precision(test):.3f})")
        print(row("cosine alone", test, probabilities(cosine, test), cosine.threshold))
        print(row("old model (MSRP only)", test, probabilities(OLD_MODEL, test), OLD_MODEL.threshold))
        print(row("new score", test, prob, new.threshold))

    ev = with_judged(shipped, pairs, held_out_judged(pairs, "ship"))
    final = fit(ev)
    test = evidence(msrp_test())
    print(f"\nMSRP test ({len(test.labels)} pairs), the model fitted on every domain:")
    cosine = fit(ev, ("similarity",))
    print(row("cosine alone", test, probabilities(cosine, test), cosine.threshold))
    print(row("old model (MSRP only)", test, probabilities(OLD_MODEL, test), OLD_MODEL.threshold))
    print(row("new score", test, probabilities(final, test), final.threshold))
    print("\nreliability of the held-out scores:")
    print(reliability(held_prob, ev.labels, ev.domains, DOCS / "reliability.png"))


if __name__ == "__main__":
    sys.exit(main())
