"""Reviewers' responses: one row per (candidate, reviewer), and the rule-derived decision kept beside them.

``decisions`` holds, per candidate, the status ``augment_core.review.derive`` computes from its
responses; it is rewritten in the same transaction as each response, so the review page keeps
filtering and sorting on one joined row per candidate, in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from augment_core.records import Decision, DecisionStatus, Response
from augment_core.review import ReviewRule, derive
from augment_core.settings import AGREEMENT_KEY, MIN_RESPONSES_KEY, from_stored
from augment_core.store.db import Database, chunks
from augment_core.store.schema import candidates, decisions, responses, settings

# The reviewer of a decision made without a name (and of every decision stored before responses existed).
LOCAL_REVIEWER = "local"


def response_of(row: Any) -> Response:
    return Response(
        candidate_id=row["candidate_id"],
        reviewer=row["reviewer"],
        status=DecisionStatus(row["status"]),
        edited_text=row["edited_text"],
        decided_at=row["decided_at"],
    )


def rule_in(conn: Connection) -> ReviewRule:
    """The review rule as stored, read inside the caller's transaction."""
    query = sa.select(settings.c.key, settings.c.value).where(settings.c.key.in_([MIN_RESPONSES_KEY, AGREEMENT_KEY]))
    stored = dict(conn.execute(query).all())
    return ReviewRule(*(from_stored(key, stored.get(key)) for key in (MIN_RESPONSES_KEY, AGREEMENT_KEY)))


def lock_candidate(conn: Connection, candidate_id: str) -> None:
    """Hold the candidate's row until the transaction ends (PostgreSQL), so two responses to it at
    once derive its status one after the other, each seeing the other's response. SQLite needs
    nothing: it has one writer at a time, and the first statement of a response is a write."""
    if conn.dialect.name != "sqlite":
        conn.execute(sa.select(candidates.c.id).where(candidates.c.id == candidate_id).with_for_update())


def rederive(db: Database, conn: Connection, candidate_id: str) -> Decision:
    """Store the candidate's decision as the rule derives it from its responses now; pending removes it."""
    query = sa.select(responses).where(responses.c.candidate_id == candidate_id)
    found = [response_of(row) for row in conn.execute(query).mappings()]
    status, edited = derive(rule_in(conn), found)
    if status is DecisionStatus.PENDING:
        conn.execute(decisions.delete().where(decisions.c.candidate_id == candidate_id))
        return Decision(candidate_id=candidate_id, status=status)
    decision = Decision(candidate_id, status, edited, max(r.decided_at for r in found))
    row = {"candidate_id": candidate_id, "status": status, "edited_text": edited, "decided_at": decision.decided_at}
    conn.execute(db.upsert(decisions, row, ["status", "edited_text", "decided_at"]))
    return decision


class ResponseQueries:
    """Read reviewers' responses; part of the Store facade (responses are written by ``set_decision``)."""

    db: Database

    def get_responses(self, candidate_id: str) -> list[Response]:
        """Every reviewer's response to one candidate, oldest first."""
        query = (
            sa.select(responses)
            .where(responses.c.candidate_id == candidate_id)
            .order_by(responses.c.decided_at, responses.c.reviewer)
        )
        with self.db.connect() as conn:
            return [response_of(row) for row in conn.execute(query).mappings()]

    def responses_of(self, candidate_ids: Iterable[str]) -> dict[str, list[Response]]:
        """The responses of each of ``candidate_ids`` that has any, oldest first (for the export's provenance)."""
        found: dict[str, list[Response]] = {}
        with self.db.connect() as conn:
            for chunk in chunks(list(candidate_ids)):
                query = (
                    sa.select(responses)
                    .where(responses.c.candidate_id.in_(chunk))
                    .order_by(responses.c.candidate_id, responses.c.decided_at, responses.c.reviewer)
                )
                for row in conn.execute(query).mappings():
                    found.setdefault(row["candidate_id"], []).append(response_of(row))
        return found

    def dataset_responses(self, dataset_id: int) -> list[tuple[str, str, str]]:
        """(candidate id, reviewer, status) of every response in a dataset, for agreement figures."""
        query = sa.select(responses.c.candidate_id, responses.c.reviewer, responses.c.status).where(
            responses.c.dataset_id == dataset_id
        )
        with self.db.connect() as conn:
            return [(cid, reviewer, status) for cid, reviewer, status in conn.execute(query)]

    def responses_by_reviewer(self, dataset_id: int, reviewer: str | None = None) -> dict[str, int]:
        """How many candidates each reviewer (or just ``reviewer``) has answered in a dataset, from the index alone."""
        query = sa.select(responses.c.reviewer, sa.func.count()).where(responses.c.dataset_id == dataset_id)
        if reviewer is not None:
            query = query.where(responses.c.reviewer == reviewer)
        with self.db.connect() as conn:
            rows = conn.execute(query.group_by(responses.c.reviewer).order_by(responses.c.reviewer)).all()
        return {name: int(count) for name, count in rows}
