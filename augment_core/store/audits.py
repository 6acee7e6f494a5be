"""The audit sample: candidates drawn per verdict of the accept rule, and what people said about them."""

from __future__ import annotations

import random

import sqlalchemy as sa

from augment_core.records import CandidateStatus
from augment_core.review import ReviewFilter
from augment_core.store.db import Database, chunks, now
from augment_core.store.review_queries import review_from, review_where
from augment_core.store.schema import audits, candidates, decisions, responses, scores


class AuditQueries:
    """Draw and read the audit sample; part of the Store facade."""

    db: Database

    def draw_audit(
        self,
        dataset_id: int,
        accepted: ReviewFilter,
        per_stratum: int,
        reviewer: str | None = None,
        seed: int | None = None,
    ) -> tuple[int, int]:
        """Queue up to ``per_stratum`` scored candidates the filter ``accepted`` selects and as many it
        does not, drawn at random among those not drawn before; returns (accepted, rejected) drawn."""
        with self.db.connect() as conn:
            drawn = sa.select(audits.c.candidate_id).where(audits.c.candidate_id == candidates.c.id)
            scored = (
                sa.select(candidates.c.id)
                .select_from(candidates.join(scores, scores.c.candidate_id == candidates.c.id))
                .where(candidates.c.dataset_id == dataset_id, candidates.c.status == CandidateStatus.OK)
                .where(~drawn.exists())
            )
            everyone = set(conn.execute(scored).scalars())
            ids = review_where(sa.select(candidates.c.id).select_from(review_from(accepted)), dataset_id, accepted)
            yes = sorted(everyone & set(conn.execute(ids).scalars()))
        no = sorted(everyone - set(yes))
        rng = random.Random(seed)
        picked = [(cid, True) for cid in rng.sample(yes, min(per_stratum, len(yes)))]
        picked += [(cid, False) for cid in rng.sample(no, min(per_stratum, len(no)))]
        stamp = now()
        rows = [
            {"candidate_id": cid, "dataset_id": dataset_id, "accepted": ok, "reviewer": reviewer, "drawn_at": stamp}
            for cid, ok in picked
        ]

        def work(conn: sa.Connection) -> None:
            for part in chunks(rows):
                self.db.insert_new(conn, audits, part)

        self.db.write(work)
        return sum(ok for _, ok in picked), sum(not ok for _, ok in picked)

    def audit_results(self, dataset_id: int) -> list[tuple[str, bool, str | None]]:
        """(candidate id, the rule accepted it, what people decided or None while unanswered) per audited candidate.

        People's verdict is the decision their responses derive; a candidate no one answered yet
        (a bulk decision is the rule's, not a person's) or whose responses do not agree yet is None.
        """
        answered = sa.select(responses.c.candidate_id).where(responses.c.candidate_id == audits.c.candidate_id)
        human = sa.case((answered.exists(), decisions.c.status), else_=None)
        query = (
            sa.select(audits.c.candidate_id, audits.c.accepted, human)
            .select_from(audits.outerjoin(decisions, decisions.c.candidate_id == audits.c.candidate_id))
            .where(audits.c.dataset_id == dataset_id)
            .order_by(audits.c.candidate_id)
        )
        with self.db.connect() as conn:
            return [(cid, bool(ok), status) for cid, ok, status in conn.execute(query)]
