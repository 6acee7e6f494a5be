"""Candidates and their scores (with the guards' flags, one row each)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict

import sqlalchemy as sa

from augment_core.records import Candidate, CandidateKind, CandidateStatus, Score
from augment_core.store import search_index
from augment_core.store.db import Database, chunks, now
from augment_core.store.rows import SCORE_FIELDS, candidate_of, flags_of, score_of
from augment_core.store.schema import candidates, score_flags, scores

# The candidates that get scores: generated rewrites (a refusal is a new record with no original).
SCORABLE = sa.and_(candidates.c.status == CandidateStatus.OK, candidates.c.kind == CandidateKind.REWRITE)


class CandidateQueries:
    """Store, find and score candidates; part of the Store facade."""

    db: Database

    def add_candidates(self, items: Sequence[Candidate]) -> int:
        """Store candidates, skipping ids already stored; returns how many were new."""
        if not items:
            return 0
        created = now()
        rows = [
            {
                "id": c.id,
                "dataset_id": c.dataset_id,
                "example_id": c.example_id,
                "augmenter": c.augmenter,
                "kind": c.kind,
                "target_field": c.target_field,
                "text": c.text,
                "record": c.record,
                "params": c.params,
                "provenance": c.provenance,
                "status": c.status,
                "error": c.error,
                "created_at": c.created_at or created,
            }
            for c in items
        ]
        with self.db.begin() as conn:
            return self.db.insert_new(conn, candidates, rows)

    def candidate_statuses(self, ids: Iterable[str]) -> dict[str, CandidateStatus]:
        """Status of each of ``ids`` that is stored; a rerun skips the ok ones."""
        found: dict[str, CandidateStatus] = {}
        with self.db.connect() as conn:
            for chunk in chunks(list(ids)):
                rows = conn.execute(sa.select(candidates.c.id, candidates.c.status).where(candidates.c.id.in_(chunk)))
                found.update({row[0]: CandidateStatus(row[1]) for row in rows})
        return found

    def candidate_texts(self, dataset_id: int, example_ids: Iterable[int]) -> list[tuple[int, str, str]]:
        """(example id, target field, text) of the successful candidates of ``example_ids``, for the
        pipeline's duplicate check; one query per chunk of examples."""
        found: list[tuple[int, str, str]] = []
        with self.db.connect() as conn:
            for chunk in chunks(sorted(set(example_ids))):
                query = sa.select(candidates.c.example_id, candidates.c.target_field, candidates.c.text).where(
                    candidates.c.dataset_id == dataset_id,
                    candidates.c.example_id.in_(chunk),
                    candidates.c.status == CandidateStatus.OK,
                )
                found += [(row[0], row[1], row[2]) for row in conn.execute(query)]
        return found

    def delete_failed_candidates(self, ids: Iterable[str]) -> None:
        """Drop stored failures about to be replaced by a retry's result."""
        with self.db.begin() as conn:
            for chunk in chunks(list(ids)):
                conn.execute(
                    candidates.delete().where(candidates.c.id.in_(chunk), candidates.c.status == CandidateStatus.FAILED)
                )
            search_index.after_delete(conn, purge=False)  # failures are not indexed: only their rowids matter

    def failure_reasons(self, dataset_id: int, limit: int = 5) -> list[tuple[str, int]]:
        """The most common reasons candidates of a dataset failed, with their counts."""
        count = sa.func.count().label("n")
        query = (
            sa.select(candidates.c.error, count)
            .where(candidates.c.dataset_id == dataset_id, candidates.c.status == CandidateStatus.FAILED)
            .group_by(candidates.c.error)
            .order_by(count.desc())
            .limit(limit)
        )
        with self.db.connect() as conn:
            return [(str(error or "no reason recorded"), int(n)) for error, n in conn.execute(query)]

    # ---- scores ---------------------------------------------------------------------------------

    def count_unscored_candidates(self, dataset_id: int) -> int:
        query = (
            sa.select(sa.func.count())
            .select_from(candidates.outerjoin(scores, scores.c.candidate_id == candidates.c.id))
            .where(candidates.c.dataset_id == dataset_id, SCORABLE, scores.c.candidate_id.is_(None))
        )
        with self.db.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def save_scores(self, items: Sequence[Score]) -> None:
        """Store scores (and their flags); a candidate already scored keeps its first scores."""
        if not items:
            return
        stamp = now()
        rows = []
        for s in items:
            row = {name: getattr(s, name) for name in SCORE_FIELDS}
            row["flag_count"] = len(s.flags)
            row["scored_at"] = stamp
            rows.append(row)
        with self.db.begin() as conn:
            ids = [s.candidate_id for s in items]
            already = {cid for chunk in chunks(ids) for cid in conn.execute(
                sa.select(scores.c.candidate_id).where(scores.c.candidate_id.in_(chunk))).scalars()}  # fmt: skip
            fresh = [s for s in items if s.candidate_id not in already]
            conn.execute(self.db.insert_ignoring_duplicates(scores), rows)
            flag_rows = [
                {"candidate_id": s.candidate_id, "position": i, **asdict(flag)}
                for s in fresh
                for i, flag in enumerate(s.flags)
            ]
            for part in chunks(flag_rows):
                conn.execute(score_flags.insert(), list(part))

    def replace_score(self, score: Score) -> None:
        """Store ``score`` in place of the candidate's scores and flags (a reviewer's edit, rescored)."""
        with self.db.begin() as conn:
            conn.execute(score_flags.delete().where(score_flags.c.candidate_id == score.candidate_id))
            conn.execute(scores.delete().where(scores.c.candidate_id == score.candidate_id))
        self.save_scores([score])

    def get_score(self, candidate_id: str) -> Score | None:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(scores).where(scores.c.candidate_id == candidate_id)).mappings().first()
            if row is None:
                return None
            flags = flags_of(conn, [candidate_id]).get(candidate_id, [])
        return score_of(row, flags)

    def iter_unscored_groups(
        self, dataset_id: int, examples_per_batch: int = 200, after: int = -1, until: int | None = None
    ) -> Iterator[list[tuple[Candidate, bool]]]:
        """Whole sibling groups for scoring: every ok rewrite of the next examples that have an unscored one.

        Yields (candidate, already scored) per example: the scored ones first, by creation, then
        the unscored ones by id (not by their creation time, whose milliseconds depend on timing:
        the same candidates give the same near-duplicate flags on any engine), so near-duplicates
        are judged among all siblings while only the unscored ones get new scores. ``after`` and
        ``until`` bound the example ids (a share of the work for one of the Ray engine's scorers).
        """
        last = after
        has_unscored = (
            sa.select(candidates.c.example_id)
            .outerjoin(scores, scores.c.candidate_id == candidates.c.id)
            .where(candidates.c.dataset_id == dataset_id, SCORABLE, scores.c.candidate_id.is_(None))
            .distinct()
        )
        if until is not None:
            has_unscored = has_unscored.where(candidates.c.example_id <= until)
        while True:
            with self.db.connect() as conn:
                ids = list(
                    conn.execute(
                        has_unscored.where(candidates.c.example_id > last)
                        .order_by(candidates.c.example_id)
                        .limit(examples_per_batch)
                    ).scalars()
                )
                if not ids:
                    return
                rows = (
                    conn.execute(
                        sa.select(candidates, scores.c.candidate_id.label("scored_id"))
                        .outerjoin(scores, scores.c.candidate_id == candidates.c.id)
                        .where(candidates.c.example_id.in_(ids), SCORABLE)
                        .order_by(candidates.c.example_id, candidates.c.created_at, candidates.c.id)
                    )
                    .mappings()
                    .all()
                )
            yield [(candidate_of(row), row["scored_id"] is not None) for row in sorted(rows, key=_sibling_order)]
            last = ids[-1]


def _sibling_order(row: sa.RowMapping) -> tuple[object, ...]:
    """Scored siblings first, by creation; then the unscored ones by id (see ``iter_unscored_groups``)."""
    scored = row["scored_id"] is not None
    return row["example_id"], not scored, row["created_at"] if scored else "", row["id"]
