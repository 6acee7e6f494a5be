"""Counts of a dataset for `augment stats`, the sidebar and the insights page."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import sqlalchemy as sa

from augment_core.records import CandidateStatus, DecisionStatus
from augment_core.store.db import Database
from augment_core.store.schema import candidates, decisions, examples, scores


@dataclass(frozen=True)
class DecisionCounts:
    approved: int = 0
    rejected: int = 0
    pending: int = 0


@dataclass(frozen=True)
class DatasetCounts:
    """Examples; candidates (all, scored, by augmenter and status); decisions on the reviewable ones."""

    examples: int = 0
    candidates: int = 0
    scored: int = 0
    by_augmenter: dict[str, dict[str, int]] = field(default_factory=dict)  # augmenter -> {ok: n, failed: n}
    decisions: DecisionCounts = DecisionCounts()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def after(self, old: DecisionStatus, new: DecisionStatus) -> DatasetCounts:
        """These counts once one reviewable candidate's status went from ``old`` to ``new``."""
        moved = asdict(self.decisions)
        moved[old.value] -= 1
        moved[new.value] += 1
        return replace(self, decisions=DecisionCounts(**moved))


class StatsQueries:
    """Counting; part of the Store facade."""

    db: Database

    def dataset_counts(self, dataset_id: int) -> DatasetCounts:
        with self.db.connect() as conn:
            n_examples = conn.execute(
                sa.select(sa.func.count()).select_from(examples).where(examples.c.dataset_id == dataset_id)
            ).scalar_one()
            by_augmenter = conn.execute(
                sa.select(candidates.c.augmenter, candidates.c.status, sa.func.count())
                .where(candidates.c.dataset_id == dataset_id)
                .group_by(candidates.c.augmenter, candidates.c.status)
            ).all()
            decided = conn.execute(
                sa.select(decisions.c.status, sa.func.count())
                .select_from(decisions.join(candidates, candidates.c.id == decisions.c.candidate_id))
                .where(candidates.c.dataset_id == dataset_id, candidates.c.status == CandidateStatus.OK)
                .group_by(decisions.c.status)
            ).all()
            n_scored = conn.execute(
                sa.select(sa.func.count())
                .select_from(scores.join(candidates, candidates.c.id == scores.c.candidate_id))
                .where(candidates.c.dataset_id == dataset_id)
            ).scalar_one()
        augmenters: dict[str, dict[str, int]] = {}
        for augmenter, status, count in by_augmenter:
            augmenters.setdefault(augmenter, {s.value: 0 for s in CandidateStatus})[status] = int(count)
        decision_counts = {status: int(count) for status, count in decided}
        approved = decision_counts.get(DecisionStatus.APPROVED, 0)
        rejected = decision_counts.get(DecisionStatus.REJECTED, 0)
        n_ok = sum(v[CandidateStatus.OK] for v in augmenters.values())  # failed candidates are never reviewed
        return DatasetCounts(
            examples=int(n_examples),
            candidates=sum(sum(v.values()) for v in augmenters.values()),
            scored=int(n_scored),
            by_augmenter=augmenters,
            decisions=DecisionCounts(approved=approved, rejected=rejected, pending=n_ok - approved - rejected),
        )
