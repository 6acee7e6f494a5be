"""Decisions: a reviewer's response from the review card (the decision derived from all of them), or
many decisions at once by a bulk rule (those write the decision alone: a rule is not a reviewer)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from augment_core.errors import InputError
from augment_core.records import Decision, DecisionStatus
from augment_core.store.bulk import decide_matching
from augment_core.store.db import Database, now
from augment_core.store.responses import LOCAL_REVIEWER, lock_candidate, rederive
from augment_core.store.rows import decision_of
from augment_core.store.schema import candidates, decisions, responses

if TYPE_CHECKING:
    from augment_core.review import ReviewFilter


def decision_status(status: str) -> DecisionStatus:
    """``status`` as a DecisionStatus, or an InputError naming the choices."""
    try:
        return DecisionStatus(status)
    except ValueError:
        choices = ", ".join(DecisionStatus)
        raise InputError(f"unknown decision '{status}'; choose {choices}") from None


def reviewer_name(name: str) -> str:
    """``name`` trimmed, or an InputError when nothing is left (a response must say who made it)."""
    trimmed = name.strip()
    if not trimmed or len(trimmed) > 200:
        raise InputError(f"a reviewer's name is 1 to 200 characters, not {name!r}")
    return trimmed


class DecisionQueries:
    """Record and read decisions; part of the Store facade."""

    db: Database

    def set_decision(
        self, candidate_id: str, status: str, edited_text: str | None = None, reviewer: str = LOCAL_REVIEWER
    ) -> Decision:
        """Record ``reviewer``'s response and the candidate's decision the review rule derives; committed
        before this returns. Returns the derived decision (status ``pending`` when the rule is not met).

        An edit the reviewer made earlier is kept unless ``edited_text`` brings a new one (approving an
        edited candidate with the Approve button keeps the edit). An empty edit is refused: it would
        make an empty training example. The response is one upsert and the decision is derived in
        the same transaction, so two reviewers answering one candidate at once both keep their
        response and the decision follows the rule.
        """
        decided = decision_status(status)
        if decided is DecisionStatus.PENDING:
            raise InputError("a decision is approved or rejected; clear_decision puts a candidate back to pending")
        if edited_text is not None and not edited_text.strip():
            raise InputError("the edited text is empty; write the text, or reject the candidate")
        reviewer = reviewer_name(reviewer)
        dataset_id = self._dataset_of(candidate_id)
        row: dict[str, Any] = {
            "candidate_id": candidate_id,
            "reviewer": reviewer,
            "dataset_id": dataset_id,
            "status": decided,
            "edited_text": edited_text,
            "decided_at": now(),
        }
        update = ["status", "decided_at"] + (["edited_text"] if edited_text is not None else [])

        def work(conn: Connection) -> Decision:
            lock_candidate(conn, candidate_id)
            conn.execute(self.db.upsert(responses, row, update))
            return rederive(self.db, conn, candidate_id)

        return self.db.write(work)

    def _dataset_of(self, candidate_id: str) -> int:
        with self.db.connect() as conn:
            found = conn.execute(sa.select(candidates.c.dataset_id).where(candidates.c.id == candidate_id)).first()
        if found is None:
            raise InputError(f"no candidate '{candidate_id}' in this store")
        return int(found[0])

    def get_decision(self, candidate_id: str) -> Decision | None:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(decisions).where(decisions.c.candidate_id == candidate_id)).mappings().first()
        return None if row is None else decision_of(row)

    def clear_decision(self, candidate_id: str, reviewer: str | None = None) -> Decision:
        """Withdraw ``reviewer``'s response (the decision is derived again), or with no reviewer put the
        candidate back to pending: every response and the decision removed. Returns the decision now."""

        def work(conn: Connection) -> Decision:
            lock_candidate(conn, candidate_id)
            mine = responses.c.candidate_id == candidate_id
            if reviewer is None:
                conn.execute(responses.delete().where(mine))
                conn.execute(decisions.delete().where(decisions.c.candidate_id == candidate_id))
                return Decision(candidate_id=candidate_id, status=DecisionStatus.PENDING)
            conn.execute(responses.delete().where(mine, responses.c.reviewer == reviewer))
            return rederive(self.db, conn, candidate_id)

        return self.db.write(work)

    def bulk_decide(self, dataset_id: int, flt: ReviewFilter, status: str) -> int:
        """Give every candidate matching ``flt`` the decision ``status`` in one transaction; returns how many changed.

        Candidates already at ``status`` are left alone (their edit and time stay); decided ones
        get the new status and time, keeping an edited text; undecided ones get a new row;
        ``pending`` removes the decision and its responses. A bulk decision writes no response (a
        rule is not a reviewer); a reviewer's later response derives the decision anew.
        """
        decided = decision_status(status)
        stamp = now()
        return self.db.write(lambda conn: len(decide_matching(self.db, conn, dataset_id, flt, decided, stamp)))
