"""The audit of the automatic verdict: how often the accept rule is right, measured against people.

A stratified random sample, half of the candidates the accept rule approves and half of those it
does not, is queued for human review (first in each reviewer's queue). From the human responses:
the rule's precision (approved by the rule, approved by people) and its miss rate (not approved by
the rule, approved by people: good candidates it would leave out), each with a 95 % Wilson interval.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from augment_core.records import Dataset, DecisionStatus
from augment_core.review import accept_rule
from augment_core.store import Store

Z95 = 1.959963984540054


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (None without trials)."""
    if trials == 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Stratum:
    drawn: int
    answered: int
    approved: int  # by people

    @property
    def rate(self) -> float | None:
        return self.approved / self.answered if self.answered else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson(self.approved, self.answered)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rate": self.rate, "interval": self.interval}


@dataclass(frozen=True)
class AuditReport:
    accepted: Stratum  # its rate is the rule's precision
    rejected: Stratum  # its rate is the rule's miss rate

    def as_dict(self) -> dict[str, Any]:
        return {"precision": self.accepted.as_dict(), "miss_rate": self.rejected.as_dict()}

    def lines(self) -> list[str]:
        out = []
        for label, s, meaning in (
            ("precision", self.accepted, "the rule's approvals are correct"),
            ("miss rate", self.rejected, "of the candidates the rule leaves out, people approve"),
        ):
            if s.rate is None or s.interval is None:
                out.append(f"{label:<10} {s.drawn} drawn, none answered yet")
            else:
                low, high = s.interval
                out.append(
                    f"{label:<10} {meaning} {s.rate:.0%} of the time ({low:.0%}-{high:.0%}, 95 % Wilson), "
                    f"{s.answered} of {s.drawn} answered"
                )
        return out


def draw_audit(
    store: Store, dataset: Dataset, sample: int, reviewer: str | None = None, seed: int | None = None
) -> tuple[int, int]:
    """Queue ``sample`` candidates (half per verdict of the accept rule); returns (accepted, rejected) drawn."""
    rule = replace(accept_rule(store), status=None)  # the rule's verdict whatever is decided since
    return store.draw_audit(dataset.id, rule, (sample + 1) // 2, reviewer=reviewer, seed=seed)


def audit_report(store: Store, dataset: Dataset) -> AuditReport:
    counts: dict[bool, list[int]] = {True: [0, 0, 0], False: [0, 0, 0]}
    for _cid, accepted, human in store.audit_results(dataset.id):
        tally = counts[accepted]
        tally[0] += 1
        if human is not None:
            tally[1] += 1
            tally[2] += human == DecisionStatus.APPROVED
    return AuditReport(Stratum(*counts[True]), Stratum(*counts[False]))
