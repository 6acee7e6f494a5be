"""The database: SQLAlchemy 2 Core schema and every query the library makes.

SQLite file by default (WAL, foreign keys on); any SQLAlchemy URL works (PostgreSQL for a team).
Each public method runs in its own transaction and commits before it returns, so a decision is
stored the moment it is made; ``transaction()`` groups several writes into one (an import).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from augment_core.errors import InputError
from augment_core.guards import KINDS
from augment_core.records import Candidate, Dataset, Decision, Example, Score

DEFAULT_URL = "sqlite:///augment.db"

metadata = sa.MetaData()

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("schema", sa.String(40), nullable=False),
    sa.Column("source_path", sa.Text, nullable=False),
    sa.Column("file_type", sa.String(20), nullable=False),
    sa.Column("mapping", sa.JSON, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
)

examples = sa.Table(
    "examples",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("record", sa.JSON, nullable=False),
    sa.UniqueConstraint("dataset_id", "key", name="uq_examples_dataset_key"),
    sa.Index("ix_examples_dataset_position", "dataset_id", "position"),
)

candidates = sa.Table(
    "candidates",
    metadata,
    # Deterministic: a hash of (example, augmenter, parameters, index), so a rerun adds nothing twice.
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    sa.Column("example_id", sa.Integer, sa.ForeignKey("examples.id", ondelete="CASCADE"), nullable=True),
    sa.Column("augmenter", sa.String(60), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False, default="rewrite"),
    sa.Column("target_field", sa.String(200), nullable=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("record", sa.JSON, nullable=True),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("provenance", sa.JSON, nullable=False),
    sa.Column("status", sa.String(20), nullable=False, default="ok"),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Index("ix_candidates_dataset_augmenter", "dataset_id", "augmenter"),
    sa.Index("ix_candidates_example", "example_id"),
    # The review page's "file order": one dataset's candidates walked in order, a page at a time.
    sa.Index("ix_candidates_dataset_example", "dataset_id", "example_id", "id"),
)

scores = sa.Table(
    "scores",
    metadata,
    sa.Column("candidate_id", sa.String(64), sa.ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("semantic_similarity", sa.Float, nullable=False),
    sa.Column("is_valid", sa.Boolean, nullable=False),
    sa.Column("in_optimal_band", sa.Boolean, nullable=False),
    sa.Column("length_ratio", sa.Float, nullable=False),
    sa.Column("unique_words", sa.Integer, nullable=False),
    sa.Column("new_words", sa.JSON, nullable=False),
    sa.Column("near_duplicate", sa.Boolean, nullable=False),
    sa.Column("flags", sa.JSON, nullable=False),
    sa.Column("flag_count", sa.Integer, nullable=False),
    sa.Column("meaning_preserved", sa.Float, nullable=True),
    sa.Column("truncated", sa.Boolean, nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("scored_at", sa.String(40), nullable=False),
    sa.Index("ix_scores_similarity", "semantic_similarity"),
)

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("candidate_id", sa.String(64), sa.ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("edited_text", sa.Text, nullable=True),
    sa.Column("decided_at", sa.String(40), nullable=False),
    sa.Index("ix_decisions_status", "status"),
)

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
)

llm_cache = sa.Table(
    "llm_cache",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("provider", sa.String(40), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("response", sa.JSON, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
)


@dataclass(frozen=True)
class ReviewFilter:
    """What the review page (and bulk actions) select; None means no restriction."""

    augmenters: tuple[str, ...] = ()
    status: str | None = None  # pending | approved | rejected
    min_similarity: float | None = None
    max_similarity: float | None = None
    valid: bool | None = None
    optimal: bool | None = None
    flag: str | None = None  # "any", "none" or one flag kind (guards.KINDS: "number", "entity", ...)
    near_duplicate: bool | None = None
    truncated: bool | None = None
    min_meaning: float | None = None  # meaning_preserved at least this (unscored never match)


# Review orderings; the candidate id is always appended so paging is stable.
REVIEW_SORTS: dict[str, tuple[Any, ...]] = {
    # Examples get their ids in file order at import, so this follows the file (refusals first).
    "file order": (candidates.c.example_id,),
    "similarity, low first": (scores.c.semantic_similarity.asc(),),
    "similarity, high first": (scores.c.semantic_similarity.desc(),),
    "length ratio, low first": (scores.c.length_ratio.asc(),),
    "length ratio, high first": (scores.c.length_ratio.desc(),),
    "most flags first": (scores.c.flag_count.desc(),),
    "newest first": (candidates.c.created_at.desc(),),
}


def now() -> str:
    """The current UTC time as an ISO 8601 string (portable across databases)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _json_dumps(value: Any) -> str:
    # Keep non-ASCII text readable in the database and deterministic key order out of the way.
    return json.dumps(value, ensure_ascii=False)


class Store:
    """A database holding datasets, examples, candidates, scores, decisions and settings."""

    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.url = url
        try:
            self.engine: Engine = sa.create_engine(url, json_serializer=_json_dumps)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
            raise InputError(f"--db '{url}': not a usable database URL ({exc})") from None
        except ModuleNotFoundError as exc:  # e.g. mysql:// without its driver; PostgreSQL's psycopg is installed
            raise InputError(f"--db '{url}': its database driver is not installed ({exc.name})") from None
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            metadata.create_all(self.engine)
        except sa.exc.OperationalError as exc:  # a folder that does not exist, a server that is down
            raise InputError(f"--db '{url}': cannot open the database ({exc.orig})") from None

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        with self.engine.begin() as conn:
            yield conn

    def _dialect_insert(self, table: sa.Table) -> Any:
        """The database's own INSERT construct, which knows its conflict clause."""
        insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(self.engine.dialect.name, mysql.insert)
        return insert(table)

    def _upsert(self, table: sa.Table, row: dict[str, Any], update: Sequence[str]) -> Any:
        """One INSERT that updates ``update`` columns when the primary key exists (no delete-then-insert race)."""
        stmt = self._dialect_insert(table).values(**row)
        if self.engine.dialect.name in ("sqlite", "postgresql"):
            keys = [c.name for c in table.primary_key.columns]
            return stmt.on_conflict_do_update(index_elements=keys, set_={c: stmt.excluded[c] for c in update})
        return stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in update})

    def _insert_ignoring_duplicates(self, table: sa.Table) -> Any:
        """An INSERT that skips rows whose primary key exists (resume without duplicates)."""
        if self.engine.dialect.name in ("sqlite", "postgresql"):
            return self._dialect_insert(table).on_conflict_do_nothing()
        return table.insert().prefix_with("IGNORE")  # MySQL / MariaDB

    # ---- datasets -------------------------------------------------------------------------

    def create_dataset(
        self, conn: Connection, name: str, schema: str, source_path: str, file_type: str, mapping: dict[str, str]
    ) -> int:
        """Insert a dataset row inside ``conn``'s transaction; returns its id."""
        result = conn.execute(
            datasets.insert().values(
                name=name,
                schema=schema,
                source_path=source_path,
                file_type=file_type,
                mapping=mapping,
                created_at=now(),
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def add_examples(self, conn: Connection, dataset_id: int, rows: Sequence[tuple[int, str, dict[str, Any]]]) -> None:
        """Insert (position, key, record) rows inside ``conn``'s transaction."""
        if rows:
            conn.execute(
                examples.insert(),
                [{"dataset_id": dataset_id, "position": p, "key": k, "record": r} for p, k, r in rows],
            )

    def dataset_names(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(datasets.c.name).order_by(datasets.c.id)).scalars())

    def get_dataset(self, name: str | None = None) -> Dataset | None:
        """The dataset called ``name``; without a name, the only one (None when zero or several)."""
        count = sa.select(sa.func.count()).where(examples.c.dataset_id == datasets.c.id).scalar_subquery()
        query = sa.select(datasets, count.label("example_count"))
        with self.engine.connect() as conn:
            if name is not None:
                rows = conn.execute(query.where(datasets.c.name == name)).mappings().all()
            else:
                rows = conn.execute(query.limit(2)).mappings().all()
                if len(rows) != 1:
                    return None
        if not rows:
            return None
        row = rows[0]
        return Dataset(
            id=row["id"],
            name=row["name"],
            schema=row["schema"],
            source_path=row["source_path"],
            file_type=row["file_type"],
            mapping=dict(row["mapping"]),
            created_at=row["created_at"],
            example_count=int(row["example_count"]),
        )

    def delete_dataset(self, dataset_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(datasets.delete().where(datasets.c.id == dataset_id))

    # ---- examples -------------------------------------------------------------------------

    def iter_examples(self, dataset_id: int, batch_size: int = 1000) -> Iterator[list[Example]]:
        """Examples in file order, a batch at a time, never the whole dataset in memory."""
        last = -1
        while True:
            with self.engine.connect() as conn:
                rows = (
                    conn.execute(
                        sa.select(examples)
                        .where(examples.c.dataset_id == dataset_id, examples.c.position > last)
                        .order_by(examples.c.position)
                        .limit(batch_size)
                    )
                    .mappings()
                    .all()
                )
            if not rows:
                return
            yield [_example(row) for row in rows]
            last = rows[-1]["position"]

    def get_examples(self, example_ids: Iterable[int]) -> dict[int, Example]:
        ids = list(example_ids)
        if not ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(examples).where(examples.c.id.in_(ids))).mappings().all()
        return {row["id"]: _example(row) for row in rows}

    # ---- candidates -----------------------------------------------------------------------

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
        insert = self._insert_ignoring_duplicates(candidates)
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                # psycopg's executemany rowcount is not the sum over a batched insert; the ids it
                # returns are (ON CONFLICT DO NOTHING returns only the rows it inserted).
                return len(conn.execute(insert.returning(candidates.c.id), rows).all())
            # sqlite3 and the MySQL drivers sum the rows each statement of an executemany inserted.
            return int(conn.execute(insert, rows).rowcount)

    def count_unscored_candidates(self, dataset_id: int) -> int:
        query = (
            sa.select(sa.func.count())
            .select_from(candidates.outerjoin(scores, scores.c.candidate_id == candidates.c.id))
            .where(
                candidates.c.dataset_id == dataset_id,
                candidates.c.status == "ok",
                candidates.c.kind == "rewrite",
                scores.c.candidate_id.is_(None),
            )
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    # ---- scores ---------------------------------------------------------------------------

    def save_scores(self, items: Sequence[Score]) -> None:
        if not items:
            return
        stamp = now()
        rows = []
        for s in items:
            row = asdict(s)
            row["flag_count"] = len(s.flags)
            row["scored_at"] = stamp
            rows.append(row)
        with self.engine.begin() as conn:
            conn.execute(self._insert_ignoring_duplicates(scores), rows)

    def get_score(self, candidate_id: str) -> Score | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(scores).where(scores.c.candidate_id == candidate_id)).mappings().first()
        if row is None:
            return None
        fields = {k: row[k] for k in Score.__dataclass_fields__}
        return Score(**fields)

    # ---- decisions ------------------------------------------------------------------------

    def set_decision(self, candidate_id: str, status: str, edited_text: str | None = None) -> Decision:
        """Record a reviewer's decision; committed before this returns.

        An edit made earlier is kept unless ``edited_text`` brings a new one (approving an edited
        candidate with the Approve button keeps the edit). One upsert, so two reviewers deciding
        the same candidate at once both succeed and the last one wins.
        """
        row: dict[str, Any] = {
            "candidate_id": candidate_id,
            "status": status,
            "edited_text": edited_text,
            "decided_at": now(),
        }
        update = ["status", "decided_at"] + (["edited_text"] if edited_text is not None else [])
        with self.engine.begin() as conn:
            conn.execute(self._upsert(decisions, row, update))
            stored = conn.execute(sa.select(decisions.c.edited_text).where(decisions.c.candidate_id == candidate_id))
            row["edited_text"] = stored.scalar_one()
        return Decision(**row)

    def get_decision(self, candidate_id: str) -> Decision | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(decisions).where(decisions.c.candidate_id == candidate_id)).mappings().first()
        return None if row is None else Decision(**dict(row))

    # ---- settings -------------------------------------------------------------------------

    def get_setting(self, key: str, default: Any = None) -> Any:
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(settings.c.value).where(settings.c.key == key)).scalar_one_or_none()
        return default if value is None else value

    def set_setting(self, key: str, value: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(self._upsert(settings, {"key": key, "value": value}, ["value"]))

    def failure_reasons(self, dataset_id: int, limit: int = 5) -> list[tuple[str, int]]:
        """The most common reasons candidates of a dataset failed, with their counts."""
        count = sa.func.count().label("n")
        query = (
            sa.select(candidates.c.error, count)
            .where(candidates.c.dataset_id == dataset_id, candidates.c.status == "failed")
            .group_by(candidates.c.error)
            .order_by(count.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(str(error or "no reason recorded"), int(n)) for error, n in conn.execute(query)]

    def delete_setting(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(settings.delete().where(settings.c.key == key))

    # ---- LLM response cache ---------------------------------------------------------------

    def cache_get(self, key: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(llm_cache.c.response).where(llm_cache.c.key == key)).scalar_one_or_none()
        return None if value is None else dict(value)

    def cache_put(self, key: str, provider: str, model: str, response: dict[str, Any]) -> None:
        row = {"key": key, "provider": provider, "model": model, "response": response, "created_at": now()}
        with self.engine.begin() as conn:
            conn.execute(self._insert_ignoring_duplicates(llm_cache), [row])

    # ---- review ---------------------------------------------------------------------------

    def _review_where(self, query: Any, dataset_id: int, flt: ReviewFilter) -> Any:
        """``query`` restricted to one dataset's reviewable candidates matching ``flt``."""
        query = query.where(candidates.c.dataset_id == dataset_id, candidates.c.status == "ok")
        if flt.augmenters:
            query = query.where(candidates.c.augmenter.in_(flt.augmenters))
        if flt.status == "pending":
            query = query.where(decisions.c.status.is_(None))
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
            query = query.where(_has_flag_kind(flt.flag))
        if flt.near_duplicate is not None:
            query = query.where(scores.c.near_duplicate == flt.near_duplicate)
        if flt.truncated is not None:
            query = query.where(scores.c.truncated == flt.truncated)
        if flt.min_meaning is not None:
            query = query.where(scores.c.meaning_preserved >= flt.min_meaning)
        return query

    @staticmethod
    def _review_from(flt: ReviewFilter | None = None) -> Any:
        """Candidates with their score, decision and example; a count (``flt`` given) joins only what it filters on."""
        joined: sa.FromClause = candidates
        score_fields = (
            "min_similarity",
            "max_similarity",
            "valid",
            "optimal",
            "flag",
            "near_duplicate",
            "truncated",
            "min_meaning",
        )
        if flt is None or any(getattr(flt, name) is not None for name in score_fields):
            joined = joined.outerjoin(scores, scores.c.candidate_id == candidates.c.id)
        if flt is None or flt.status is not None:
            joined = joined.outerjoin(decisions, decisions.c.candidate_id == candidates.c.id)
        if flt is None:
            joined = joined.outerjoin(examples, examples.c.id == candidates.c.example_id)
        return joined

    def count_review(self, dataset_id: int, flt: ReviewFilter) -> int:
        """How many candidates match ``flt`` (for the pager and the bulk-action confirmation)."""
        query = self._review_where(sa.select(sa.func.count()).select_from(self._review_from(flt)), dataset_id, flt)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def count_review_any(self, dataset_id: int, filters: Sequence[ReviewFilter]) -> int:
        """How many candidates match at least one of ``filters`` (a bulk action made of several), each once."""
        selects: list[Any] = [
            self._review_where(sa.select(candidates.c.id).select_from(self._review_from(f)), dataset_id, f)
            for f in filters
        ]
        if not selects:
            return 0
        union: Any = sa.union  # typed Any: mypy 2.4 crashes expanding sa.union's generic signature
        matched = (union(*selects) if len(selects) > 1 else selects[0]).subquery()
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(matched)).scalar_one())

    def review_page(
        self, dataset_id: int, flt: ReviewFilter, sort: str = "file order", limit: int = 20, offset: int = 0
    ) -> list[dict[str, Any]]:
        """One page of candidates with their score, decision and original record, paged in SQL."""
        if sort not in REVIEW_SORTS:
            raise InputError(f"unknown sort '{sort}'; choose one of {', '.join(REVIEW_SORTS)}")
        columns = [
            *candidates.c,
            *(c for c in scores.c if c.name != "candidate_id"),
            decisions.c.status.label("decision"),
            decisions.c.edited_text,
            decisions.c.decided_at,
            examples.c.record.label("original"),
            examples.c.key.label("example_key"),
        ]
        query = self._review_where(sa.select(*columns).select_from(self._review_from()), dataset_id, flt)
        query = query.order_by(*REVIEW_SORTS[sort], candidates.c.id).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def bulk_decide(self, dataset_id: int, flt: ReviewFilter, status: str) -> int:
        """Give every candidate matching ``flt`` the decision ``status`` in one transaction; returns how many changed.

        Candidates already at ``status`` are left alone (their edit and time stay); decided ones
        get the new status and time, keeping an edited text; undecided ones get a new row.
        """
        if status not in ("approved", "rejected", "pending"):
            raise InputError(f"unknown decision '{status}'; choose approved, rejected or pending")
        stamp = now()
        with self.engine.begin() as conn:
            # The ids are read first: the filter may itself depend on the decisions being replaced.
            query = self._review_where(
                sa.select(candidates.c.id, decisions.c.status).select_from(self._review_from()), dataset_id, flt
            )
            current = conn.execute(query).all()
            if status == "pending":
                to_update, to_insert = [cid for cid, old in current if old is not None], []
            else:
                to_update = [cid for cid, old in current if old is not None and old != status]
                to_insert = [cid for cid, old in current if old is None]
            for start in range(0, len(to_update), 500):
                chunk = to_update[start : start + 500]
                where = decisions.c.candidate_id.in_(chunk)
                if status == "pending":
                    conn.execute(decisions.delete().where(where))
                else:
                    conn.execute(decisions.update().where(where).values(status=status, decided_at=stamp))
            rows = [{"candidate_id": i, "status": status, "decided_at": stamp} for i in to_insert]
            for start in range(0, len(rows), 500):
                conn.execute(self._insert_ignoring_duplicates(decisions), rows[start : start + 500])
        return len(to_update) + len(to_insert)

    def clear_decision(self, candidate_id: str) -> None:
        """Put a candidate back to pending."""
        with self.engine.begin() as conn:
            conn.execute(decisions.delete().where(decisions.c.candidate_id == candidate_id))

    def review_facets(self, dataset_id: int) -> dict[str, list[str]]:
        """The augmenters present in a dataset and the flag kinds, for the filter controls."""
        with self.engine.connect() as conn:
            names = list(
                conn.execute(
                    sa.select(candidates.c.augmenter)
                    .where(candidates.c.dataset_id == dataset_id)
                    .distinct()
                    .order_by(candidates.c.augmenter)
                ).scalars()
            )
        # The flag filter offers the guards' kinds, a fixed list: no scan of every flag list.
        return {"augmenters": names, "flag_kinds": list(KINDS)}

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
                sa.func.coalesce(decisions.c.status, "pending").label("decision"),
            )
            .select_from(
                candidates.join(scores, scores.c.candidate_id == candidates.c.id).outerjoin(
                    decisions, decisions.c.candidate_id == candidates.c.id
                )
            )
            .where(candidates.c.dataset_id == dataset_id, candidates.c.status == "ok")
        )
        with self.engine.connect() as conn:
            result = conn.execute(query)
            return list(result.keys()), [tuple(row) for row in result]

    # ---- export ---------------------------------------------------------------------------

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
            .where(candidates.c.dataset_id == dataset_id, candidates.c.status == "ok")
        )
        if selection == "approved":
            base = base.where(decisions.c.status == "approved")
        elif selection == "valid":
            if valid_rule is None or valid_rule.status != "pending":
                raise ValueError("selection 'valid' needs the review filter of pending candidates to approve")
            # The very conditions the review filter puts on a query of the same joined tables.
            matches_rule = self._review_where(sa.select(candidates.c.id), dataset_id, valid_rule).whereclause
            pending_refusal = sa.and_(
                decisions.c.status.is_(None), scores.c.candidate_id.is_(None), candidates.c.kind == "refusal"
            )
            base = base.where(sa.or_(decisions.c.status == "approved", matches_rule, pending_refusal))
        elif selection == "all":
            base = base.where(sa.or_(decisions.c.status.is_(None), decisions.c.status != "rejected"))
        else:
            raise InputError(f"unknown selection '{selection}'; choose approved, valid or all")
        # One streamed query, no ORDER BY: paging by id would sort the whole table once per page,
        # and the mix does not depend on row order.
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(base)
            keys = list(result.keys())
            for part in result.partitions():
                yield [dict(zip(keys, values, strict=True)) for values in part]

    def export_candidates(self, ids: Iterable[str]) -> dict[str, tuple[Candidate, Score | None, Decision | None]]:
        """Candidates by id, each with its score (``new_words`` left empty) and decision (None when missing).

        Built for the export's 100k-row pass: JSON columns are read as text and short texts are
        decoded once per call, so equal values (``null``, ``[]``, one augmenter's params) are the
        same object across candidates; treat them as read-only.
        """
        wanted = list(ids)
        json_columns = {c.name for c in candidates.c if isinstance(c.type, sa.JSON)}
        json_columns |= {f"score_{c.name}" for c in scores.c if isinstance(c.type, sa.JSON)}
        # new_words is left out: the export does not carry it, and decoding it costs a JSON parse per row.
        wanted_scores = [name for name in Score.__dataclass_fields__ if name != "new_words"]
        query = sa.select(
            *(sa.cast(c, sa.Text).label(c.name) if c.name in json_columns else c for c in candidates.c),
            *(
                sa.cast(scores.c[name], sa.Text).label(f"score_{name}")
                if f"score_{name}" in json_columns
                else scores.c[name].label(f"score_{name}")
                for name in wanted_scores
            ),
            decisions.c.status.label("decision_status"),
            decisions.c.edited_text.label("decision_edited_text"),
            decisions.c.decided_at.label("decision_decided_at"),
        ).select_from(
            candidates.outerjoin(scores, scores.c.candidate_id == candidates.c.id).outerjoin(
                decisions, decisions.c.candidate_id == candidates.c.id
            )
        )
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
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                result = conn.execute(query.where(candidates.c.id.in_(chunk)))
                keys = list(result.keys())
                decoded = [k in json_columns for k in keys]
                for values in result.all():  # rows as tuples: far cheaper than mappings at 100k rows
                    row = {k: decode(v) if d else v for k, d, v in zip(keys, decoded, values, strict=True)}
                    score = None
                    if row["score_candidate_id"] is not None:
                        score = Score(**{name: row[f"score_{name}"] for name in wanted_scores})
                    decision = None
                    if row["decision_status"] is not None:
                        decision = Decision(
                            candidate_id=row["id"],
                            status=row["decision_status"],
                            edited_text=row["decision_edited_text"],
                            decided_at=row["decision_decided_at"],
                        )
                    found[row["id"]] = (_candidate(row), score, decision)
        return found

    # ---- quality --------------------------------------------------------------------------

    def iter_unscored_groups(
        self, dataset_id: int, examples_per_batch: int = 200
    ) -> Iterator[list[tuple[Candidate, bool]]]:
        """Whole sibling groups for scoring: every ok rewrite of the next examples that have an unscored one.

        Yields (candidate, already scored) in (example, created, id) order, so near-duplicates
        are judged among all siblings while only the unscored ones get new scores.
        """
        last = -1
        has_unscored = (
            sa.select(candidates.c.example_id)
            .outerjoin(scores, scores.c.candidate_id == candidates.c.id)
            .where(
                candidates.c.dataset_id == dataset_id,
                candidates.c.status == "ok",
                candidates.c.kind == "rewrite",
                scores.c.candidate_id.is_(None),
            )
            .distinct()
        )
        while True:
            with self.engine.connect() as conn:
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
                        .where(
                            candidates.c.example_id.in_(ids),
                            candidates.c.status == "ok",
                            candidates.c.kind == "rewrite",
                        )
                        .order_by(candidates.c.example_id, candidates.c.created_at, candidates.c.id)
                    )
                    .mappings()
                    .all()
                )
            yield [(_candidate(row), row["scored_id"] is not None) for row in rows]
            last = ids[-1]

    def iter_approved_candidates(
        self, dataset_id: int, batch_size: int = 1000
    ) -> Iterator[list[tuple[Candidate, str | None]]]:
        """Approved candidates with the reviewer's edited text (None when unedited), a batch at a time."""
        last = ""
        while True:
            query = (
                sa.select(candidates, decisions.c.edited_text.label("decision_edited_text"))
                .join(decisions, decisions.c.candidate_id == candidates.c.id)
                .where(
                    candidates.c.dataset_id == dataset_id,
                    candidates.c.status == "ok",
                    decisions.c.status == "approved",
                    candidates.c.id > last,
                )
                .order_by(candidates.c.id)
                .limit(batch_size)
            )
            with self.engine.connect() as conn:
                rows = conn.execute(query).mappings().all()
            if not rows:
                return
            yield [(_candidate(row), row["decision_edited_text"]) for row in rows]
            last = rows[-1]["id"]

    # ---- pipeline -------------------------------------------------------------------------

    def candidate_statuses(self, ids: Iterable[str]) -> dict[str, str]:
        """Status (ok | failed) of each of ``ids`` that is stored; a rerun skips the ok ones."""
        wanted = list(ids)
        found: dict[str, str] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = conn.execute(sa.select(candidates.c.id, candidates.c.status).where(candidates.c.id.in_(chunk)))
                found.update({row[0]: row[1] for row in rows})
        return found

    def candidate_texts(self, dataset_id: int, example_ids: Iterable[int]) -> list[tuple[int, str, str]]:
        """(example id, target field, text) of the successful candidates of ``example_ids``, for the
        pipeline's duplicate check; one query for a batch of examples."""
        wanted = sorted(set(example_ids))
        found: list[tuple[int, str, str]] = []
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                query = sa.select(candidates.c.example_id, candidates.c.target_field, candidates.c.text).where(
                    candidates.c.dataset_id == dataset_id,
                    candidates.c.example_id.in_(wanted[start : start + 500]),
                    candidates.c.status == "ok",
                )
                found += [(row[0], row[1], row[2]) for row in conn.execute(query)]
        return found

    def delete_failed_candidates(self, ids: Iterable[str]) -> None:
        """Drop stored failures about to be replaced by a retry's result."""
        wanted = list(ids)
        with self.engine.begin() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                conn.execute(candidates.delete().where(candidates.c.id.in_(chunk), candidates.c.status == "failed"))

    # ---- statistics -----------------------------------------------------------------------

    def dataset_counts(self, dataset_id: int) -> dict[str, Any]:
        """Counts for `augment stats` and the studio: examples, candidates by augmenter and status."""
        with self.engine.connect() as conn:
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
                .where(candidates.c.dataset_id == dataset_id, candidates.c.status == "ok")
                .group_by(decisions.c.status)
            ).all()
            n_scored = conn.execute(
                sa.select(sa.func.count())
                .select_from(scores.join(candidates, candidates.c.id == scores.c.candidate_id))
                .where(candidates.c.dataset_id == dataset_id)
            ).scalar_one()
        augmenters: dict[str, dict[str, int]] = {}
        for augmenter, status, count in by_augmenter:
            augmenters.setdefault(augmenter, {"ok": 0, "failed": 0})[status] = int(count)
        decision_counts = {status: int(count) for status, count in decided}
        n_candidates = sum(sum(v.values()) for v in augmenters.values())
        n_ok = sum(v["ok"] for v in augmenters.values())  # failed candidates are never reviewed
        return {
            "examples": int(n_examples),
            "candidates": n_candidates,
            "scored": int(n_scored),
            "by_augmenter": augmenters,
            "decisions": {
                "approved": decision_counts.get("approved", 0),
                "rejected": decision_counts.get("rejected", 0),
                "pending": n_ok - decision_counts.get("approved", 0) - decision_counts.get("rejected", 0),
            },
        }


def _has_flag_kind(kind: str) -> Any:
    """A condition: some flag of the score is of ``kind`` (its first word).

    Flags are stored as a JSON list of strings; an element begins right after ``[`` or a ``,``
    separator with an unescaped quote, which never occurs inside a JSON string, so ``"kind `` there
    is the start of a flag. LIKE specials are escaped, and the kind must be a known one.
    """
    if kind not in KINDS:
        raise InputError(f"unknown flag kind '{kind}'; choose any, none or one of {', '.join(KINDS)}")
    text = sa.cast(scores.c.flags, sa.Text)
    starts = [f'["{kind}{end}' for end in (" ", '"')]
    inside = [f'{sep}"{kind}{end}' for sep in (", ", ",") for end in (" ", '"')]
    return sa.or_(
        *(text.startswith(p, autoescape=True) for p in starts), *(text.contains(p, autoescape=True) for p in inside)
    )


def _example(row: Any) -> Example:
    return Example(
        id=row["id"], dataset_id=row["dataset_id"], position=row["position"], key=row["key"], record=row["record"]
    )


def _candidate(row: Any) -> Candidate:
    return Candidate(**{k: row[k] for k in Candidate.__dataclass_fields__})
