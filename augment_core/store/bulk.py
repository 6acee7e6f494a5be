"""Bulk decisions: what a bulk action will change (the preview), applying it, and undoing it.

A bulk action is a plan of (filter, decision) pairs (``augment_core.review.bulk_plan``). Applying
one returns a ``BulkChange``: every candidate it changed with the decision row and responses it
had before, so ``undo_bulk`` puts each one back exactly (status, edited text, time, responses).
A candidate decided again since the action (by a reviewer, another bulk action) is left as it is.
The last action of each dataset is kept in ``bulk_undo`` (``last_bulk`` / ``undo_last_bulk``), so
a reload or another tab can undo it; an undo applies once, and the next bulk action replaces it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from augment_core.records import DecisionStatus
from augment_core.store.db import Database, chunks, now
from augment_core.store.review_queries import ReviewRow, review_from, review_where
from augment_core.store.schema import bulk_undo, candidates, decisions, responses

if TYPE_CHECKING:
    from augment_core.review import ReviewFilter

    Plan = Sequence[tuple[ReviewFilter, DecisionStatus]]


@dataclass(frozen=True)
class BulkChange:
    """One applied bulk action: what it wrote and what each changed candidate had before."""

    dataset_id: int
    decided_at: str  # the time the action wrote on every decision it made
    written: dict[str, DecisionStatus]  # candidate id -> the status the action gave it
    decisions_before: dict[str, dict[str, Any]]  # candidate id -> its decision row before (absent: pending)
    responses_before: dict[str, list[dict[str, Any]]]  # candidate id -> its response rows before

    @property
    def count(self) -> int:
        return len(self.written)

    def to_json(self) -> dict[str, Any]:
        return {"written": self.written, "decisions_before": self.decisions_before,
                "responses_before": self.responses_before}  # fmt: skip

    @classmethod
    def from_json(cls, dataset_id: int, decided_at: str, data: dict[str, Any]) -> BulkChange:
        return cls(
            dataset_id=dataset_id,
            decided_at=decided_at,
            written={cid: DecisionStatus(status) for cid, status in data["written"].items()},
            decisions_before=data["decisions_before"],
            responses_before=data["responses_before"],
        )


@dataclass(frozen=True)
class LastBulk:
    """The bulk action a dataset's undo would take back."""

    action: str
    count: int
    reviewer: str
    decided_at: str


@dataclass(frozen=True)
class UndoResult:
    restored: int  # candidates given back their earlier decision
    kept: int  # candidates decided again since the action, left as they are now


def _will_change(query: Any, status: DecisionStatus) -> Any:
    """``query`` (joined with decisions) restricted to candidates whose decision is not ``status`` yet."""
    if status is DecisionStatus.PENDING:
        return query.where(decisions.c.status.is_not(None))
    return query.where(sa.or_(decisions.c.status.is_(None), decisions.c.status != status))


def _changing(dataset_id: int, flt: ReviewFilter, status: DecisionStatus) -> Any:
    return _will_change(review_where(sa.select(candidates.c.id).select_from(review_from()), dataset_id, flt), status)


def _rows_of(conn: Connection, table: sa.Table, ids: Sequence[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for chunk in chunks(ids):
        query = sa.select(table).where(table.c.candidate_id.in_(chunk))
        found.extend(dict(row) for row in conn.execute(query).mappings())
    return found


def decide_matching(
    db: Database, conn: Connection, dataset_id: int, flt: ReviewFilter, decided: DecisionStatus, stamp: str
) -> list[str]:
    """Give every candidate matching ``flt`` the decision ``decided`` (at ``stamp``); returns the ids changed.

    Candidates already at ``decided`` are left alone (their edit and time stay); decided ones get
    the new status and time, keeping an edited text; undecided ones get a new row; ``pending``
    removes the decision and its responses (or the next response would derive the old status).
    """
    # The ids are read first: the filter may itself depend on the decisions being replaced.
    ids = sa.select(candidates.c.id, decisions.c.status).select_from(review_from())
    current = conn.execute(review_where(ids, dataset_id, flt)).all()
    if decided is DecisionStatus.PENDING:
        to_update, to_insert = [cid for cid, old in current if old is not None], []
    else:
        to_update = [cid for cid, old in current if old is not None and old != decided]
        to_insert = [cid for cid, old in current if old is None]
    for chunk in chunks(to_update):
        where = decisions.c.candidate_id.in_(chunk)
        if decided is DecisionStatus.PENDING:
            conn.execute(responses.delete().where(responses.c.candidate_id.in_(chunk)))
            conn.execute(decisions.delete().where(where))
        else:
            conn.execute(decisions.update().where(where, decisions.c.status != decided).values(
                status=decided, decided_at=stamp))  # fmt: skip
    rows = [{"candidate_id": i, "status": decided, "decided_at": stamp} for i in to_insert]
    for part in chunks(rows):
        db.insert_new(conn, decisions, part)
    if decided is DecisionStatus.PENDING:
        return to_update
    # What this transaction wrote, read back, not the ids read before: a second process deciding the
    # same candidates at once (PostgreSQL reads committed rows) wrote its own time, and is not counted.
    mine = (
        sa.select(decisions.c.candidate_id)
        .join(candidates, candidates.c.id == decisions.c.candidate_id)
        .where(candidates.c.dataset_id == dataset_id, decisions.c.status == decided, decisions.c.decided_at == stamp)
    )
    touched = {*to_update, *to_insert}
    written = [cid for cid in conn.execute(mine).scalars() if cid in touched]
    return written


class BulkQueries:
    """Preview, apply and undo bulk actions; part of the Store facade."""

    db: Database

    if TYPE_CHECKING:  # from ReviewQueries, beside this class in the Store facade

        def review_rows_in(self, ids: Any, limit: int = 50) -> list[ReviewRow]: ...

    def bulk_preview(self, dataset_id: int, plan: Plan, limit: int = 50) -> tuple[int, list[ReviewRow]]:
        """How many candidates ``plan`` would change, and the first ``limit`` of them in file order."""
        selects: list[Any] = [_changing(dataset_id, flt, status) for flt, status in plan]
        if not selects:
            return 0, []
        union: Any = sa.union  # typed Any: mypy 2.4 crashes expanding sa.union's generic signature
        matched = (union(*selects) if len(selects) > 1 else selects[0]).subquery()
        with self.db.connect() as conn:
            count = int(conn.execute(sa.select(sa.func.count()).select_from(matched)).scalar_one())
        first = sa.select(matched.c.id)
        return count, self.review_rows_in(first, limit)

    def apply_bulk(self, dataset_id: int, plan: Plan, action: str = "", reviewer: str = "") -> BulkChange:
        """Apply every pair of ``plan`` in one transaction; returns what changed, and keeps it as the
        dataset's last bulk action (``action``, by ``reviewer``) for ``undo_last_bulk``."""
        stamp = now()

        def work(conn: Connection) -> BulkChange:
            written: dict[str, DecisionStatus] = {}
            before: dict[str, dict[str, Any]] = {}
            answered: dict[str, list[dict[str, Any]]] = {}
            for flt, status in plan:
                # Snapshot first: the candidates this pair will change, as they are before it writes.
                ids = [cid for cid in conn.execute(_changing(dataset_id, flt, status)).scalars() if cid not in written]
                before.update((row["candidate_id"], row) for row in _rows_of(conn, decisions, ids))
                for row in _rows_of(conn, responses, ids):
                    answered.setdefault(row["candidate_id"], []).append(row)
                for cid in decide_matching(self.db, conn, dataset_id, flt, status, stamp):
                    written.setdefault(cid, status)
            keep = set(written)
            change = BulkChange(
                dataset_id=dataset_id,
                decided_at=stamp,
                written=written,
                decisions_before={k: v for k, v in before.items() if k in keep},
                responses_before={k: v for k, v in answered.items() if k in keep},
            )
            row = dict(dataset_id=dataset_id, action=action, count=change.count, reviewer=reviewer,
                       decided_at=stamp, change=change.to_json())  # fmt: skip
            conn.execute(self.db.upsert(bulk_undo, row, ["action", "count", "reviewer", "decided_at", "change"]))
            return change

        return self.db.write(work)

    def last_bulk(self, dataset_id: int) -> LastBulk | None:
        """The dataset's last bulk action not undone yet (None: none kept)."""
        columns = (bulk_undo.c.action, bulk_undo.c.count, bulk_undo.c.reviewer, bulk_undo.c.decided_at)
        with self.db.connect() as conn:
            row = conn.execute(sa.select(*columns).where(bulk_undo.c.dataset_id == dataset_id)).first()
        return None if row is None else LastBulk(*row)

    def undo_last_bulk(self, dataset_id: int, decided_at: str | None = None) -> UndoResult | None:
        """Undo the dataset's last bulk action (``decided_at``: only if it is that one) and forget it;
        None when there is none: undone already (another tab, a reload), or replaced by a newer one."""

        def work(conn: Connection) -> UndoResult | None:
            mine = bulk_undo.c.dataset_id == dataset_id
            if decided_at is not None:
                mine = sa.and_(mine, bulk_undo.c.decided_at == decided_at)
            row = conn.execute(sa.select(bulk_undo.c.decided_at, bulk_undo.c.change).where(mine)).first()
            # Deleted before the decisions are restored, in the same transaction: a second undo at
            # once finds no row (SQLite holds the write lock; PostgreSQL's waits, then deletes nothing).
            if row is None or conn.execute(bulk_undo.delete().where(mine)).rowcount != 1:
                return None
            return _undo(conn, BulkChange.from_json(dataset_id, row.decided_at, row.change))

        return self.db.write(work)

    def undo_bulk(self, change: BulkChange) -> UndoResult:
        """Give every candidate ``change`` changed its earlier decision and responses back, exactly;
        one decided again since (its decision is no longer what the action wrote) is left alone."""

        def work(conn: Connection) -> UndoResult:
            kept = sa.and_(bulk_undo.c.dataset_id == change.dataset_id, bulk_undo.c.decided_at == change.decided_at)
            conn.execute(bulk_undo.delete().where(kept))  # undone: no longer the dataset's undo
            return _undo(conn, change)

        return self.db.write(work)


def _undo(conn: Connection, change: BulkChange) -> UndoResult:
    ids = list(change.written)
    now_rows = {row["candidate_id"]: row for row in _rows_of(conn, decisions, ids)}
    answered = {row["candidate_id"] for row in _rows_of(conn, responses, ids)}
    untouched = []
    for cid, status in change.written.items():
        row = now_rows.get(cid)
        if status is DecisionStatus.PENDING:
            same = row is None and cid not in answered
        else:
            same = row is not None and row["status"] == status and row["decided_at"] == change.decided_at
        if same:
            untouched.append(cid)
    for chunk in chunks(untouched):
        conn.execute(decisions.delete().where(decisions.c.candidate_id.in_(chunk)))
        conn.execute(responses.delete().where(responses.c.candidate_id.in_(chunk)))
    old_decisions = [change.decisions_before[c] for c in untouched if c in change.decisions_before]
    old_responses = [r for c in untouched for r in change.responses_before.get(c, [])]
    for part in chunks(old_decisions):
        conn.execute(decisions.insert(), list(part))
    for part in chunks(old_responses):
        conn.execute(responses.insert(), list(part))
    return UndoResult(restored=len(untouched), kept=len(ids) - len(untouched))
