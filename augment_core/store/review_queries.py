"""What the review page reads: candidates matching a ReviewFilter, counted, paged and sorted in SQL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from augment_core.errors import InputError
from augment_core.records import (
    FLAG_KINDS,
    Candidate,
    CandidateStatus,
    Decision,
    DecisionStatus,
    Score,
    effective_text,
)
from augment_core.store.db import Database
from augment_core.store.rows import candidate_of, decision_of, flags_of, score_of
from augment_core.store.schema import candidates, decisions, examples, llm_judgements, score_flags, scores
from augment_core.store.search_index import MIN_FTS_CHARS, PerDialect, indexed_search

if TYPE_CHECKING:
    from augment_core.review import ReviewFilter

# Review orderings; the candidate id is always appended so paging is stable.
REVIEW_SORTS: dict[str, tuple[Any, ...]] = {
    # Examples get their ids in file order at import, so this follows the file (refusals first).
    "file order": (candidates.c.example_id,),
    "similarity, low first": (scores.c.semantic_similarity.asc(),),
    "similarity, high first": (scores.c.semantic_similarity.desc(),),
    "length ratio, low first": (scores.c.length_ratio.asc(),),
    "length ratio, high first": (scores.c.length_ratio.desc(),),
    "most flags first": (scores.c.flag_count.desc(),),
    # The meaning verdict (meaning_preserved); candidates without one come last either way.
    "meaning, low first": (scores.c.meaning_preserved.is_(None), scores.c.meaning_preserved.asc()),
    "meaning, high first": (scores.c.meaning_preserved.is_(None), scores.c.meaning_preserved.desc()),
    "newest first": (candidates.c.created_at.desc(),),
}
_LIKE_ESCAPE = "\\"


def like_pattern(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, its own % and _ taken literally."""
    escaped = text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _needles(text: str) -> list[str]:
    """``text`` as typed and as the stored JSON of a record spells it (quotes, backslashes escaped)."""
    return list(dict.fromkeys([text, json.dumps(text, ensure_ascii=False)[1:-1]]))


def search_like(text: str) -> Any:
    """What search means: candidates whose text, edited text or original record contains ``text``
    (ASCII letters in any case), as one LIKE over the page's joins (a scan: no index serves it).

    The record is stored as JSON, where a quote, backslash or newline of the data is escaped: it is
    matched in that spelling too. Every field of the record is searched (input, output, every turn).
    """
    record_text = sa.cast(examples.c.record, sa.Text)
    return sa.or_(
        candidates.c.text.ilike(like_pattern(text), escape=_LIKE_ESCAPE),
        decisions.c.edited_text.ilike(like_pattern(text), escape=_LIKE_ESCAPE),
        *(record_text.ilike(like_pattern(n), escape=_LIKE_ESCAPE) for n in _needles(text)),
    )


def search_clause(text: str) -> Any:
    """``search_like``'s candidates; on SQLite found through the trigram index (search_index), whose
    hits, and the rows it does not hold yet, are checked with the LIKE: the same rows."""
    like = search_like(text)
    if len(text) < MIN_FTS_CHARS:
        return like
    edited = decisions.alias("edited")  # not the page's decisions: the subquery must not correlate with it
    edits = sa.select(edited.c.candidate_id).where(
        edited.c.edited_text.is_not(None), edited.c.edited_text.ilike(like_pattern(text), escape=_LIKE_ESCAPE)
    )
    maybe = sa.literal_column("candidates.rowid").in_(indexed_search(text, _needles(text), edits))
    return PerDialect(like, sqlite=sa.and_(maybe, like), postgresql=sa.and_(_trigram_search(text, edits), like))


def _trigram_search(text: str, edits: Any) -> Any:
    """PostgreSQL: the candidates that may match, each branch a pg_trgm index's (``search_index.install``;
    a server without the extension runs the same branches as scans). One OR over the page's joins
    could use no index at all."""
    found, source = candidates.alias("found"), examples.alias("source")
    record_text = sa.cast(source.c.record, sa.Text)  # the expression ix_examples_record_trgm indexes
    in_record = sa.or_(*(record_text.ilike(like_pattern(n), escape=_LIKE_ESCAPE) for n in _needles(text)))
    union: Any = sa.union  # typed Any: mypy crashes expanding sa.union's generic signature
    return candidates.c.id.in_(
        union(
            sa.select(found.c.id).where(found.c.text.ilike(like_pattern(text), escape=_LIKE_ESCAPE)),
            sa.select(found.c.id).where(found.c.example_id.in_(sa.select(source.c.id).where(in_record))),
            edits,
        )
    )


_SCORE_FILTERS = (
    "min_similarity", "max_similarity", "valid", "optimal", "flag", "near_duplicate", "truncated", "min_meaning",
)  # fmt: skip


@dataclass(frozen=True)
class ReviewRow:
    """One candidate as the review page shows it: with its score, decision and original record."""

    candidate: Candidate
    score: Score | None
    decision: Decision | None
    original: dict[str, Any] | None  # the example's record; None for a refusal (a new record)
    example_key: str | None

    @property
    def status(self) -> DecisionStatus:
        return DecisionStatus.PENDING if self.decision is None else self.decision.status

    @property
    def text(self) -> str:
        """The candidate's text after review (the edit, else its own)."""
        return effective_text(self.candidate, self.decision)


def review_where(query: Any, dataset_id: int, flt: ReviewFilter) -> Any:
    """``query`` restricted to one dataset's reviewable candidates matching ``flt``."""
    query = query.where(_in_dataset(dataset_id, flt), candidates.c.status == CandidateStatus.OK)
    if flt.augmenters:
        query = query.where(candidates.c.augmenter.in_(flt.augmenters))
    if flt.status == DecisionStatus.PENDING:
        # NOT EXISTS, not the outer join's NULL: SQLite then skips the decided ones on the index alone,
        # before joining scores and examples to each (60,000 decided took 100 ms, now half that).
        decided = decisions.alias("decided")  # its own name: the page's query joins decisions too
        has_one = sa.select(decided.c.candidate_id).where(decided.c.candidate_id == candidates.c.id)
        query = query.where(~has_one.exists())
    elif flt.status is not None:
        query = query.where(decisions.c.status == flt.status)
    if flt.min_similarity is not None:
        query = query.where(scores.c.semantic_similarity >= flt.min_similarity)
    if flt.max_similarity is not None:
        query = query.where(scores.c.semantic_similarity <= flt.max_similarity)
    if flt.valid is not None:
        query = query.where(scores.c.is_valid == flt.valid)
    if flt.optimal is not None:
        query = query.where(scores.c.in_optimal_band == flt.optimal)
    if flt.flag == "any":
        query = query.where(scores.c.flag_count > 0)
    elif flt.flag == "none":
        query = query.where(sa.or_(scores.c.flag_count == 0, scores.c.flag_count.is_(None)))
    elif flt.flag:
        if flt.flag not in FLAG_KINDS:
            raise InputError(f"unknown flag kind '{flt.flag}'; choose any, none or one of {', '.join(FLAG_KINDS)}")
        of_kind = sa.select(score_flags.c.candidate_id).where(
            score_flags.c.kind == flt.flag, score_flags.c.candidate_id == candidates.c.id
        )
        query = query.where(of_kind.exists())
    if flt.near_duplicate is not None:
        query = query.where(scores.c.near_duplicate == flt.near_duplicate)
    if flt.truncated is not None:
        query = query.where(scores.c.truncated == flt.truncated)
    if flt.min_meaning is not None:
        query = query.where(scores.c.meaning_preserved >= flt.min_meaning)
    if flt.search:
        query = query.where(search_clause(flt.search))
    if flt.record:
        query = query.where(sa.or_(examples.c.key == flt.record, candidates.c.id == flt.record))
    return _llm_where(query, flt)


def _in_dataset(dataset_id: int, flt: ReviewFilter) -> Any:
    """The dataset's candidates. With a search the trigram index serves, SQLite (which knows no row
    counts) would walk the whole dataset and test each row against the search's hits: a unary ``+``
    keeps the dataset's indexes out, so the hits drive the query."""
    term = candidates.c.dataset_id == dataset_id
    if not flt.search or len(flt.search) < MIN_FTS_CHARS:
        return term
    return PerDialect(term, sqlite=sa.literal_column("+candidates.dataset_id", sa.Integer) == dataset_id)


def _llm_where(query: Any, flt: ReviewFilter) -> Any:
    """The LLM judge's part of a filter (a correlated lookup, so no join changes the row count)."""
    verdict = sa.select(llm_judgements.c.candidate_id).where(llm_judgements.c.candidate_id == candidates.c.id)
    if flt.llm_judged is not None:
        query = query.where(verdict.exists() if flt.llm_judged else ~verdict.exists())
    if flt.llm_keeps is not None:
        query = query.where(verdict.where(llm_judgements.c.keeps_meaning == flt.llm_keeps).exists())
    if flt.min_llm_score is not None:
        query = query.where(verdict.where(llm_judgements.c.score >= flt.min_llm_score).exists())
    return query


def review_from(flt: ReviewFilter | None = None) -> Any:
    """Candidates with their score, decision and example; a count (``flt`` given) joins only what it filters on."""
    joined: sa.FromClause = candidates
    if flt is None or any(getattr(flt, name) is not None for name in _SCORE_FILTERS):
        joined = joined.outerjoin(scores, scores.c.candidate_id == candidates.c.id)
    if flt is None or flt.status not in (None, DecisionStatus.PENDING) or flt.search:
        joined = joined.outerjoin(decisions, decisions.c.candidate_id == candidates.c.id)
    if flt is None or flt.search or flt.record:
        joined = joined.outerjoin(examples, examples.c.id == candidates.c.example_id)
    return joined


_ROW_COLUMNS = (
    *candidates.c,
    *(c.label(f"score_{c.name}") for c in scores.c),
    *(c.label(f"decision_{c.name}") for c in decisions.c),
    examples.c.record.label("original"),
    examples.c.key.label("example_key"),
)


class ReviewQueries:
    """Counting, paging and facets for the review page; part of the Store facade."""

    db: Database

    def count_review(self, dataset_id: int, flt: ReviewFilter) -> int:
        """How many candidates match ``flt`` (for the pager and the bulk-action confirmation)."""
        query = review_where(sa.select(sa.func.count()).select_from(review_from(flt)), dataset_id, flt)
        with self.db.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def count_review_any(self, dataset_id: int, filters: Sequence[ReviewFilter]) -> int:
        """How many candidates match at least one of ``filters`` (a bulk action made of several), each once."""
        selects: list[Any] = [
            review_where(sa.select(candidates.c.id).select_from(review_from(f)), dataset_id, f) for f in filters
        ]
        if not selects:
            return 0
        union: Any = sa.union  # typed Any: mypy 2.4 crashes expanding sa.union's generic signature
        matched = (union(*selects) if len(selects) > 1 else selects[0]).subquery()
        with self.db.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(matched)).scalar_one())

    def review_page(
        self, dataset_id: int, flt: ReviewFilter, sort: str = "file order", limit: int = 20, offset: int = 0
    ) -> list[ReviewRow]:
        """One page of candidates with their score, decision and original record, paged in SQL."""
        if sort not in REVIEW_SORTS:
            raise InputError(f"unknown sort '{sort}'; choose one of {', '.join(REVIEW_SORTS)}")
        query = review_where(sa.select(*_ROW_COLUMNS).select_from(review_from()), dataset_id, flt)
        query = query.order_by(*REVIEW_SORTS[sort], candidates.c.id).limit(limit).offset(offset)
        return self._rows(query)

    def review_position(self, dataset_id: int, flt: ReviewFilter, sort: str, candidate_id: str) -> int | None:
        """Where ``candidate_id`` stands (from 0) in the list ``review_page`` pages through; None when
        it is not in it (a link to a candidate opens at its place)."""
        if sort not in REVIEW_SORTS:
            raise InputError(f"unknown sort '{sort}'; choose one of {', '.join(REVIEW_SORTS)}")
        place = sa.func.row_number().over(order_by=(*REVIEW_SORTS[sort], candidates.c.id)).label("place")
        numbered = review_where(sa.select(candidates.c.id, place).select_from(review_from()), dataset_id, flt)
        numbered = numbered.subquery()
        with self.db.connect() as conn:
            found = conn.execute(sa.select(numbered.c.place).where(numbered.c.id == candidate_id)).scalar()
        return None if found is None else int(found) - 1

    def review_row(self, candidate_id: str) -> ReviewRow | None:
        """One candidate as the review card shows it (the work queue's next one)."""
        rows = self._rows(sa.select(*_ROW_COLUMNS).select_from(review_from()).where(candidates.c.id == candidate_id))
        return rows[0] if rows else None

    def review_rows_in(self, ids: Any, limit: int = 50) -> list[ReviewRow]:
        """The first ``limit`` candidates, in file order, whose id the select ``ids`` returns (a preview)."""
        query = sa.select(*_ROW_COLUMNS).select_from(review_from()).where(candidates.c.id.in_(ids))
        return self._rows(query.order_by(*REVIEW_SORTS["file order"], candidates.c.id).limit(limit))

    def _rows(self, query: Any) -> list[ReviewRow]:
        with self.db.connect() as conn:
            rows = list(conn.execute(query).mappings())
            flags = flags_of(conn, [row["id"] for row in rows if row["score_candidate_id"] is not None])
        return [
            ReviewRow(
                candidate=candidate_of(row),
                score=None if row["score_candidate_id"] is None else score_of(row, flags.get(row["id"], []), "score_"),
                decision=None if row["decision_candidate_id"] is None else decision_of(row, "decision_"),
                original=row["original"],
                example_key=row["example_key"],
            )
            for row in rows
        ]

    def review_facets(self, dataset_id: int) -> dict[str, list[str]]:
        """The augmenters present in a dataset and the flag kinds, for the filter controls."""
        with self.db.connect() as conn:
            names = list(
                conn.execute(
                    sa.select(candidates.c.augmenter)
                    .where(candidates.c.dataset_id == dataset_id)
                    .distinct()
                    .order_by(candidates.c.augmenter)
                ).scalars()
            )
        return {"augmenters": names, "flag_kinds": list(FLAG_KINDS)}

    def similarity_bins(self, dataset_id: int, bins: int = 50) -> dict[str, list[int]]:
        """Per augmenter (sorted), how many scored candidates fall in each of ``bins`` equal bins of the
        similarity from 0 to 1 (the last bin takes 1.0 too): counted in SQL, so Insights' first chart
        does not wait for every score to be read."""
        scaled = scores.c.semantic_similarity * bins
        # A floor: SQLite's CAST truncates (similarities are not negative), PostgreSQL's rounds.
        index = sa.cast(scaled if self.db.dialect == "sqlite" else sa.func.floor(scaled), sa.Integer).label("bin")
        query = (
            sa.select(candidates.c.augmenter, index, sa.func.count())
            .select_from(candidates.join(scores, scores.c.candidate_id == candidates.c.id))
            .where(candidates.c.dataset_id == dataset_id, candidates.c.status == CandidateStatus.OK)
            .group_by(candidates.c.augmenter, index)
        )
        heights: dict[str, list[int]] = {}
        with self.db.connect() as conn:
            for augmenter, at, count in conn.execute(query):
                heights.setdefault(augmenter, [0] * bins)[min(max(int(at), 0), bins - 1)] += int(count)
        return dict(sorted(heights.items()))

    def review_table(self, dataset_id: int) -> tuple[list[str], list[tuple[Any, ...]]]:
        """(column names, rows) of every scored candidate with its decision, for the charts."""
        query = (
            sa.select(
                candidates.c.augmenter,
                scores.c.semantic_similarity,
                scores.c.is_valid,
                scores.c.in_optimal_band,
                scores.c.length_ratio,
                scores.c.unique_words,
                scores.c.flag_count,
                sa.func.coalesce(decisions.c.status, DecisionStatus.PENDING.value).label("decision"),
            )
            .select_from(
                candidates.join(scores, scores.c.candidate_id == candidates.c.id).outerjoin(
                    decisions, decisions.c.candidate_id == candidates.c.id
                )
            )
            .where(candidates.c.dataset_id == dataset_id, candidates.c.status == CandidateStatus.OK)
        )
        with self.db.connect() as conn:
            result = conn.execute(query)
            return list(result.keys()), [tuple(row) for row in result]
