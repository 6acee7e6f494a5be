"""How far reviewers agree: Cohen's kappa per pair (scikit-learn), Krippendorff's alpha overall
(the ``krippendorff`` package), and the candidates whose responses conflict.

Kappa for a pair is computed on the candidates both answered; it is None where they share fewer
than two or where it is undefined (both gave one same answer throughout). Alpha (nominal) uses
every candidate with at least two responses; None without any, or where only one answer was given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Any

from augment_core.records import DecisionStatus

LABELS = (DecisionStatus.APPROVED.value, DecisionStatus.REJECTED.value)


@dataclass(frozen=True)
class PairAgreement:
    first: str
    second: str
    shared: int  # candidates both answered
    kappa: float | None


@dataclass(frozen=True)
class Agreement:
    reviewers: list[str] = field(default_factory=list)
    pairs: list[PairAgreement] = field(default_factory=list)
    alpha: float | None = None
    units: int = 0  # candidates with two responses or more (what alpha is computed on)
    conflicts: list[str] = field(default_factory=list)  # candidate ids whose responses differ

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def agreement(responses: Iterable[tuple[str, str, str]]) -> Agreement:
    """The figures from (candidate id, reviewer, status) triples."""
    by_candidate: dict[str, dict[str, str]] = {}
    for cid, reviewer, status in responses:
        by_candidate.setdefault(cid, {})[reviewer] = str(status)
    reviewers = sorted({r for answers in by_candidate.values() for r in answers})
    shared = {cid: answers for cid, answers in by_candidate.items() if len(answers) >= 2}
    conflicts = sorted(cid for cid, answers in shared.items() if len(set(answers.values())) > 1)
    pairs = [_pair(a, b, shared) for a, b in combinations(reviewers, 2)]
    return Agreement(reviewers, [p for p in pairs if p.shared], _alpha(reviewers, shared), len(shared), conflicts)


def _pair(a: str, b: str, shared: dict[str, dict[str, str]]) -> PairAgreement:
    both = [(answers[a], answers[b]) for answers in shared.values() if a in answers and b in answers]
    kappa: float | None = None
    if len(both) >= 2 and len({x for pair in both for x in pair}) == 2:
        from sklearn.metrics import cohen_kappa_score

        first, second = zip(*both, strict=True)
        kappa = float(cohen_kappa_score(first, second, labels=list(LABELS)))
    return PairAgreement(a, b, len(both), kappa)


def _alpha(reviewers: list[str], shared: dict[str, dict[str, str]]) -> float | None:
    if not shared:
        return None
    values = {label: float(i) for i, label in enumerate(LABELS)}
    observed = {answer for answers in shared.values() for answer in answers.values()}
    if len(observed) < 2:
        return None  # one answer everywhere: alpha's expected disagreement is 0, the figure undefined
    import krippendorff
    import numpy as np

    data = np.full((len(reviewers), len(shared)), np.nan)
    row = {name: i for i, name in enumerate(reviewers)}
    for j, answers in enumerate(shared.values()):
        for reviewer, answer in answers.items():
            data[row[reviewer], j] = values[answer]
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
