"""Work queues: each reviewer's "Next" is a candidate that still needs responses, that they have not
answered, and that is not held by enough other reviewers already (a lease, a few minutes long).

A candidate needs ``review.min_responses`` responses; under ``majority`` a tie needs one more.
Someone looking at a candidate holds it until their lease expires or they answer, so with the
default rule (one response) two reviewers never get the same candidate. The lease is taken in one
transaction with the check (PostgreSQL: the candidate's row locked, others skipped while locked;
SQLite: the write lock taken before the check), so two reviewers asking at once get two
different candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from augment_core.records import CandidateStatus
from augment_core.store.db import Database
from augment_core.store.responses import rule_in
from augment_core.store.schema import audits, candidates, decisions, leases, responses

LEASE_MINUTES = 10
_PAGE = 200  # pending candidates read at a time, in file order


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _open_slots(reviewer: str, stamp: str, min_responses: int, majority: bool) -> Any:
    """A condition on ``candidates``: still needs a response that ``reviewer`` may give now."""
    mine = sa.select(responses.c.candidate_id).where(
        responses.c.candidate_id == candidates.c.id, responses.c.reviewer == reviewer
    )
    answered = (
        sa.select(sa.func.count()).select_from(responses).where(responses.c.candidate_id == candidates.c.id)
    ).scalar_subquery()
    holder_answered = sa.select(responses.c.candidate_id).where(
        responses.c.candidate_id == leases.c.candidate_id, responses.c.reviewer == leases.c.reviewer
    )
    held = (
        sa.select(sa.func.count())
        .select_from(leases)
        .where(
            leases.c.candidate_id == candidates.c.id,
            leases.c.reviewer != reviewer,
            leases.c.expires_at > stamp,
            ~holder_answered.exists(),
        )
    ).scalar_subquery()
    needed = answered + held < min_responses
    if majority:  # a tie needs one more response
        needed = sa.or_(needed, sa.and_(answered >= min_responses, held == 0))
    return sa.and_(~mine.exists(), needed)


class QueueQueries:
    """Hand out candidates to reviewers and count their progress; part of the Store facade."""

    db: Database

    def next_in_queue(
        self, dataset_id: int, reviewer: str, skip: Sequence[str] = (), minutes: float = LEASE_MINUTES
    ) -> str | None:
        """The id of ``reviewer``'s next candidate, leased to them for ``minutes``; None when their queue is empty.

        A candidate they hold already comes first (a rerun shows the same one); ``skip`` leaves some out.
        """

        def work(conn: Connection) -> str | None:
            moment = datetime.now(UTC)
            stamp, until = _stamp(moment), _stamp(moment + timedelta(minutes=minutes))
            # A write first: on SQLite it takes the one write lock before anything is read (pysqlite
            # begins a transaction only at a write), so two reviewers' reads cannot both see a
            # candidate free; on PostgreSQL the candidate's row lock below does that.
            conn.execute(leases.delete().where(leases.c.expires_at <= stamp))
            rule = rule_in(conn)
            slots = _open_slots(reviewer, stamp, rule.min_responses, rule.agreement == "majority")
            pending = (
                sa.select(candidates.c.id)
                .select_from(candidates.outerjoin(decisions, decisions.c.candidate_id == candidates.c.id))
                .where(
                    candidates.c.dataset_id == dataset_id,
                    candidates.c.status == CandidateStatus.OK,
                    decisions.c.status.is_(None),
                )
            )
            base = pending.where(slots)
            audit = (
                sa.select(candidates.c.id)
                .select_from(candidates.join(audits, audits.c.candidate_id == candidates.c.id))
                .where(
                    audits.c.dataset_id == dataset_id,
                    sa.or_(audits.c.reviewer.is_(None), audits.c.reviewer == reviewer),
                    _open_slots(reviewer, stamp, 1, False),  # one person's answer is what the audit needs
                )
            )
            if skip:
                pending = pending.where(candidates.c.id.not_in(list(skip)))
                base = base.where(candidates.c.id.not_in(list(skip)))
                audit = audit.where(candidates.c.id.not_in(list(skip)))
            # Driven from the reviewer's few leases, not by walking every candidate to find none.
            held = candidates.c.id.in_(
                sa.select(leases.c.candidate_id).where(leases.c.reviewer == reviewer, leases.c.expires_at > stamp)
            )
            # The audit sample first: it is what tells how far the rule can be trusted.
            file_order = (candidates.c.example_id, candidates.c.id)
            sources = [(audit, (candidates.c.id,)), (base, file_order)]
            found = None
            for query, order in sources:  # one this reviewer holds already
                found = conn.execute(query.where(held).order_by(*order).limit(1)).scalar_one_or_none()
                if found is not None:
                    break
            if found is None:
                found = self._first_open(conn, audit, audit.order_by(candidates.c.id).limit(_PAGE))
            offset = 0
            while found is None:
                # The pending ones a page at a time in file order, then the slots checked on that page
                # alone: asked in one query, PostgreSQL cannot estimate the slots and sorts them all.
                page = conn.execute(pending.order_by(*file_order).limit(_PAGE).offset(offset))
                ids = list(page.scalars())
                if not ids:
                    break
                on_page = base.where(candidates.c.id.in_(ids)).order_by(*file_order)
                found = self._first_open(conn, base, on_page)
                offset += _PAGE
            if found is not None:
                row = {"candidate_id": found, "reviewer": reviewer, "expires_at": until}
                conn.execute(self.db.upsert(leases, row, ["expires_at"]))
            return found

        return self.db.write(work, bump=False)  # a lease changes no count and no page

    def _first_open(self, conn: Connection, query: Any, listed: Any) -> str | None:
        """The first id ``listed`` gives that is still open when locked (see ``_still_open``)."""
        for cid in conn.execute(listed).scalars().all():
            if self._still_open(conn, cid, query):
                return str(cid)
        return None

    def _still_open(self, conn: Connection, candidate_id: str, query: Any) -> bool:
        """Lock the candidate (PostgreSQL; skipped when another reviewer holds the lock) and ask ``query`` again."""
        if conn.dialect.name != "sqlite":
            lock = sa.select(candidates.c.id).where(candidates.c.id == candidate_id).with_for_update(skip_locked=True)
            if conn.execute(lock).first() is None:
                return False
        return conn.execute(query.where(candidates.c.id == candidate_id)).first() is not None

    def release(self, candidate_id: str, reviewer: str) -> None:
        """Give a held candidate back (a reviewer skips it)."""
        mine = sa.and_(leases.c.candidate_id == candidate_id, leases.c.reviewer == reviewer)
        self.db.write(lambda conn: conn.execute(leases.delete().where(mine)), bump=False)
