"""Reviewers' decisions: one at a time from the review card, or many at once by a rule."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from augment_core.errors import InputError
from augment_core.records import Decision, DecisionStatus
from augment_core.store.db import Database, chunks, now
from augment_core.store.review_queries import review_from, review_where
from augment_core.store.rows import decision_of
from augment_core.store.schema import candidates, decisions

if TYPE_CHECKING:
    from augment_core.review import ReviewFilter


def decision_status(status: str) -> DecisionStatus:
    """``status`` as a DecisionStatus, or an InputError naming the choices."""
    try:
        return DecisionStatus(status)
    except ValueError:
        choices = ", ".join(DecisionStatus)
        raise InputError(f"unknown decision '{status}'; choose {choices}") from None


class DecisionQueries:
    """Record and read decisions; part of the Store facade."""

    db: Database

    def set_decision(self, candidate_id: str, status: str, edited_text: str | None = None) -> Decision:
        """Record a reviewer's decision; committed before this returns.

        An edit made earlier is kept unless ``edited_text`` brings a new one (approving an edited
        candidate with the Approve button keeps the edit). An empty edit is refused: it would make
        an empty training example. One upsert, so two reviewers deciding the same candidate at
        once both succeed and the last one wins.
        """
        decided = decision_status(status)
        if decided is DecisionStatus.PENDING:
            raise InputError("a decision is approved or rejected; clear_decision puts a candidate back to pending")
        if edited_text is not None and not edited_text.strip():
            raise InputError("the edited text is empty; write the text, or reject the candidate")
        row: dict[str, Any] = {
            "candidate_id": candidate_id,
            "status": decided,
            "edited_text": edited_text,
            "decided_at": now(),
        }
        update = ["status", "decided_at"] + (["edited_text"] if edited_text is not None else [])

        def work(conn: Connection) -> str | None:
            conn.execute(self.db.upsert(decisions, row, update))
            stored = conn.execute(sa.select(decisions.c.edited_text).where(decisions.c.candidate_id == candidate_id))
            return stored.scalar_one()  # type: ignore[no-any-return]

        row["edited_text"] = self.db.write(work)
        return Decision(**row)

    def get_decision(self, candidate_id: str) -> Decision | None:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(decisions).where(decisions.c.candidate_id == candidate_id)).mappings().first()
        return None if row is None else decision_of(row)

    def clear_decision(self, candidate_id: str) -> None:
        """Put a candidate back to pending."""
        self.db.write(lambda conn: conn.execute(decisions.delete().where(decisions.c.candidate_id == candidate_id)))

    def bulk_decide(self, dataset_id: int, flt: ReviewFilter, status: str) -> int:
        """Give every candidate matching ``flt`` the decision ``status`` in one transaction; returns how many changed.

        Candidates already at ``status`` are left alone (their edit and time stay); decided ones
        get the new status and time, keeping an edited text; undecided ones get a new row;
        ``pending`` removes the decision.
        """
        decided = decision_status(status)
        stamp = now()

        def work(conn: Connection) -> int:
            # The ids are read first: the filter may itself depend on the decisions being replaced.
            ids = sa.select(candidates.c.id, decisions.c.status).select_from(review_from())
            query = review_where(ids, dataset_id, flt)
            current = conn.execute(query).all()
            if decided is DecisionStatus.PENDING:
                to_update, to_insert = [cid for cid, old in current if old is not None], []
            else:
                to_update = [cid for cid, old in current if old is not None and old != decided]
                to_insert = [cid for cid, old in current if old is None]
            # Counted from what the statements changed, not from the ids read: a second process deciding
            # the same candidates at once (PostgreSQL reads committed rows) must not count them again.
            changed = 0
            for chunk in chunks(to_update):
                where = decisions.c.candidate_id.in_(chunk)
                if decided is DecisionStatus.PENDING:
                    changed += conn.execute(decisions.delete().where(where)).rowcount
                else:
                    update = decisions.update().where(where, decisions.c.status != decided)
                    changed += conn.execute(update.values(status=decided, decided_at=stamp)).rowcount
            rows = [{"candidate_id": i, "status": decided, "decided_at": stamp} for i in to_insert]
            for part in chunks(rows):
                changed += self.db.insert_new(conn, decisions, part)
            return changed

        return self.db.write(work)
