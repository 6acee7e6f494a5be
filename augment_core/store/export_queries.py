"""What an export reads: light rows for choosing the mix, then the chosen candidates in full."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from augment_core.errors import InputError
from augment_core.records import Candidate, CandidateKind, CandidateStatus, Decision, DecisionStatus, Score, Selection
from augment_core.store.db import Database, chunks
from augment_core.store.review_queries import review_where
from augment_core.store.rows import CANDIDATE_FIELDS, SCORE_FIELDS, candidate_of, decision_of, flags_of, score_of
from augment_core.store.schema import candidates, decisions, scores

if TYPE_CHECKING:
    from augment_core.review import ReviewFilter


class ExportQueries:
    """Reads for the mix and the export; part of the Store facade."""

    db: Database

    def iter_mix_rows(
        self,
        dataset_id: int,
        selection: str,
        batch_size: int = 5000,
        valid_rule: ReviewFilter | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Light rows (no texts) of the successful candidates an export may choose from, a batch at a time.

        ``selection``, each a superset of the one before: ``approved`` (decision approved),
        ``valid`` (approved, or pending and matching ``valid_rule``, the review filter of
        ``augment review --approve-valid``; a pending refusal too, as a new record is never scored)
        or ``all`` (every one not rejected). A rejection always keeps a candidate out.
        """
        columns = (
            candidates.c.id,
            candidates.c.example_id,
            candidates.c.augmenter,
            candidates.c.kind,
            candidates.c.target_field,
            decisions.c.status.label("decision"),
            scores.c.is_valid,
            scores.c.in_optimal_band,
            scores.c.semantic_similarity,
            scores.c.flag_count,
            scores.c.near_duplicate,
        )
        base = (
            sa.select(*columns)
            .select_from(
                candidates.outerjoin(scores, scores.c.candidate_id == candidates.c.id).outerjoin(
                    decisions, decisions.c.candidate_id == candidates.c.id
                )
            )
            .where(candidates.c.dataset_id == dataset_id, candidates.c.status == CandidateStatus.OK)
        )
        approved = decisions.c.status == DecisionStatus.APPROVED
        if selection == Selection.APPROVED:
            base = base.where(approved)
        elif selection == Selection.VALID:
            if valid_rule is None or valid_rule.status != DecisionStatus.PENDING:
                raise ValueError("selection 'valid' needs the review filter of pending candidates to approve")
            # The very conditions the review filter puts on a query of the same joined tables.
            matches_rule = review_where(sa.select(candidates.c.id), dataset_id, valid_rule).whereclause
            pending_refusal = sa.and_(
                decisions.c.status.is_(None),
                scores.c.candidate_id.is_(None),
                candidates.c.kind == CandidateKind.REFUSAL,
            )
            base = base.where(sa.or_(approved, matches_rule, pending_refusal))
        elif selection == Selection.ALL:
            base = base.where(sa.or_(decisions.c.status.is_(None), decisions.c.status != DecisionStatus.REJECTED))
        else:
            raise InputError(f"unknown selection '{selection}'; choose {', '.join(Selection)}")
        # One streamed query, no ORDER BY: paging by id would sort the whole table once per page,
        # and the mix does not depend on row order.
        with self.db.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(base)
            keys = list(result.keys())
            for part in result.partitions():
                yield [dict(zip(keys, values, strict=True)) for values in part]

    def export_candidates(self, ids: Iterable[str]) -> dict[str, tuple[Candidate, Score | None, Decision | None]]:
        """Candidates by id, each with its score (``new_words``, ``unmatched`` left empty) and decision (None: none).

        Built for the export's 100k-row pass: JSON columns are read as text and short texts are
        decoded once per call, so equal values (``null``, ``[]``, one augmenter's params) are the
        same object across candidates; treat them as read-only.
        """
        wanted = list(ids)
        # new_words and unmatched are left out: the export does not carry them, and decoding them costs
        # a JSON parse per row.
        wanted_scores = [name for name in SCORE_FIELDS if name not in ("new_words", "unmatched")]
        decision_fields = list(Decision.__dataclass_fields__)
        # The columns in the order of the records' fields, so a row is cut into them by position: at
        # 100k rows, a dict per row keyed by column name cost a sixth of the export.
        columns = [
            *(candidates.c[name] for name in CANDIDATE_FIELDS),
            *(scores.c[name] for name in wanted_scores),
            scores.c.flag_count,
            *(decisions.c[name] for name in decision_fields),
        ]
        json_at = [i for i, c in enumerate(columns) if isinstance(c.type, sa.JSON)]
        query = sa.select(
            *(sa.cast(c, sa.Text) if i in json_at else c for i, c in enumerate(columns))
        ).select_from(
            candidates.outerjoin(scores, scores.c.candidate_id == candidates.c.id).outerjoin(
                decisions, decisions.c.candidate_id == candidates.c.id
            )
        )
        score_at, flag_count_at = len(CANDIDATE_FIELDS), len(CANDIDATE_FIELDS) + len(wanted_scores)
        memo: dict[str, Any] = {}

        def decode(text: str | None) -> Any:
            if text is None:
                return None
            if len(text) > 256:
                return json.loads(text)
            if text not in memo:
                memo[text] = json.loads(text)
            return memo[text]

        found: dict[str, tuple[Candidate, Score | None, Decision | None]] = {}
        with self.db.connect() as conn:
            for chunk in chunks(wanted):
                rows = [list(values) for values in conn.execute(query.where(candidates.c.id.in_(chunk))).all()]
                # Most candidates have no flag: ask the flags table only about those that have some.
                flags = flags_of(conn, [row[0] for row in rows if row[flag_count_at]])
                for row in rows:
                    for i in json_at:
                        row[i] = decode(row[i])
                    candidate = candidate_of(dict(zip(CANDIDATE_FIELDS, row, strict=False)))
                    score = None
                    if row[score_at] is not None:
                        values = dict(zip(wanted_scores, row[score_at:flag_count_at], strict=True))
                        score = score_of(values, flags.get(candidate.id, []))
                    decided = dict(zip(decision_fields, row[flag_count_at + 1 :], strict=True))
                    decision = None if decided["candidate_id"] is None else decision_of(decided)
                    found[candidate.id] = (candidate, score, decision)
        return found

    def iter_approved_candidates(
        self, dataset_id: int, batch_size: int = 1000
    ) -> Iterator[list[tuple[Candidate, Decision]]]:
        """Approved candidates with their decision (the reviewer's edit is on it), a batch at a time."""
        last = ""
        while True:
            query = (
                sa.select(candidates, *(c.label(f"decision_{c.name}") for c in decisions.c))
                .join(decisions, decisions.c.candidate_id == candidates.c.id)
                .where(
                    candidates.c.dataset_id == dataset_id,
                    candidates.c.status == CandidateStatus.OK,
                    decisions.c.status == DecisionStatus.APPROVED,
                    candidates.c.id > last,
                )
                .order_by(candidates.c.id)
                .limit(batch_size)
            )
            with self.db.connect() as conn:
                rows = conn.execute(query).mappings().all()
            if not rows:
                return
            yield [(candidate_of(row), decision_of(row, "decision_")) for row in rows]
            last = rows[-1]["id"]
