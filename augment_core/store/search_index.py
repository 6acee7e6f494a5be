"""The review search's index on SQLite: FTS5 trigram tables filled out of band, up to a mark.

Search (``review_queries.search_like``) is a LIKE: candidates whose text, edit or original record
(as stored, JSON) contains a string, ASCII letters in any case. ``LIKE '%...%'`` can use no B-tree
index. Two FTS5 tables (trigram tokenizer, each row's own copy of its text) can:

- ``candidates_fts``: rowid = the candidate's rowid; its text (ok candidates only: the reviewed ones)
- ``examples_fts``: rowid = the example's id; its record as stored

No trigger keeps them: that made a 100,000-record import 34.8 s instead of 3.1 s. They hold the
rows up to a mark each (the settings row ``search.indexed``); ``refresh`` indexes the rows after
the marks in short write transactions, when the studio searches. A search (``search_clause``) is
the index's hits up to the marks, every row after them and the edited candidates (a partial index
on ``decisions``), checked with the LIKE itself: LIKE's rows exactly, whatever the index holds.

Why a mark suffices: the tool never changes a stored candidate's text or example's record, it
inserts and deletes rows. SQLite gives a new row max(rowid) + 1, so a rowid comes back only once
the highest rows are deleted: every delete of candidates or examples calls ``after_delete``, which
lowers each mark to the highest rowid left and has ``refresh`` drop the deleted rows' entries.
The candidates' rowid is not their key (a text id); a VACUUM keeps rowids (SQLite 3.40, checked), but a table rebuilt by
a migration may renumber them: the mark keeps the id of its row, and a search whose mark row has
another id treats every candidate as after the mark (``refresh`` then builds the index again).
PostgreSQL keeps pg_trgm GIN indexes itself, on insert (migration 0009); other databases scan.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles

from augment_core.store.db import Database
from augment_core.store.schema import settings

log = logging.getLogger(__name__)

MIN_FTS_CHARS = 3  # a trigram index finds strings of at least three characters
MARKS_KEY = "search.indexed"  # {"candidates": rowid, "candidate_id": its id, "examples": id, "purge": bool}
CHUNK = 2000  # rows of each table per refresh transaction: the write lock is held ~0.2 s

# detail=full (the default): a query is a phrase, its rows nearly LIKE's own. detail=none was half the
# size (100,000 records and candidates: +91 MB, not +191) but finds the rows holding the string's
# trigrams anywhere: 'the the' took 571 ms instead of 70 (the LIKE alone 189 ms; bench_search_index.py).
_TABLES = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS candidates_fts USING fts5(text, tokenize='trigram')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS examples_fts USING fts5(record, tokenize='trigram')",
)
# PostgreSQL's: (name, what it indexes), trigram GIN indexes serving ILIKE '%...%' (review_queries._trigram_search).
_PG_INDEXES = (
    ("ix_candidates_text_trgm", "candidates USING gin (text gin_trgm_ops)"),
    ("ix_examples_record_trgm", "examples USING gin ((record::text) gin_trgm_ops)"),
)
# (FTS table, base table, its rowid, the text indexed, which rows) for each index.
_SOURCES = (
    ("candidates_fts", "candidates", "rowid", "text", "status = 'ok'"),
    ("examples_fts", "examples", "id", "record", "1"),
)


def install(conn: Connection) -> None:
    """SQLite: create the (empty) index tables (``refresh`` fills them). PostgreSQL: its trigram
    indexes (``install_trigram_indexes``)."""
    if conn.dialect.name == "sqlite":
        for statement in _TABLES:
            conn.exec_driver_sql(statement)
    install_trigram_indexes(conn)


def install_trigram_indexes(conn: Connection) -> None:
    """PostgreSQL: pg_trgm's GIN indexes, which the server keeps on insert; without the right to
    create the extension, none (the search is then the LIKE scan, and says so in the log).
    Nothing on other databases."""
    if conn.dialect.name != "postgresql":
        return
    try:
        with conn.begin_nested():  # a refused CREATE EXTENSION must not abort the migration
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as exc:
        log.warning("text search without an index: pg_trgm could not be created (%s)", exc.orig)
        return
    for name, indexed in _PG_INDEXES:
        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {name} ON {indexed}")


def drop_trigram_indexes(conn: Connection) -> None:
    """Drop what ``install_trigram_indexes`` made (pg_trgm itself stays); nothing on other databases."""
    if conn.dialect.name == "postgresql":
        for name, _ in _PG_INDEXES:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")


def uninstall(conn: Connection) -> None:
    """Drop what ``install`` made and the marks (a migration's downgrade)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DROP TABLE IF EXISTS candidates_fts")
        conn.exec_driver_sql("DROP TABLE IF EXISTS examples_fts")
        conn.execute(settings.delete().where(settings.c.key == MARKS_KEY))
    drop_trigram_indexes(conn)


# ---- the search ---------------------------------------------------------------------------------


def fts_phrase(*needles: str) -> str:
    """An FTS5 query matching rows that contain any of ``needles`` as a substring (trigram tables)."""
    return " OR ".join('"' + needle.replace('"', '""') + '"' for needle in needles)


def _matches(table: str, *needles: str) -> Any:
    return sa.literal_column(table).op("MATCH")(sa.literal(fts_phrase(*needles)))


def _mark(name: str) -> Any:
    """The stored mark ``name`` as a scalar subquery (read in the search's own snapshot); 0 without one."""
    value = sa.select(sa.func.json_extract(settings.c.value, f"$.{name}")).where(settings.c.key == MARKS_KEY)
    return sa.func.coalesce(value.scalar_subquery(), 0)


def indexed_search(text: str, needles: list[str], edited: Any) -> Any:
    """SQLite: the rowids of the candidates that may match (the caller checks the LIKE on them):
    the index's hits, every candidate and example after the marks, and ``edited`` (a select of the
    ids of the candidates whose edit matches)."""
    found = sa.table("candidates", sa.column("rowid"), sa.column("id"), sa.column("example_id")).alias("found")
    at_mark = sa.table("candidates", sa.column("rowid"), sa.column("id")).alias("at_mark")
    mark_row_id = sa.select(at_mark.c.id).where(at_mark.c.rowid == _mark("candidates")).scalar_subquery()
    # The mark's row must still be the candidate it was (see the module's docstring), else all is after it.
    candidate_mark = sa.case((mark_row_id == _mark("candidate_id"), _mark("candidates")), else_=0)
    candidates_fts = sa.table("candidates_fts", sa.column("rowid"))
    examples_fts = sa.table("examples_fts", sa.column("rowid"))
    union_all: Any = sa.union_all  # typed Any: mypy crashes expanding sa.union_all's generic signature
    return union_all(
        sa.select(candidates_fts.c.rowid).where(_matches("candidates_fts", text)),
        sa.select(found.c.rowid).where(found.c.rowid > candidate_mark),
        sa.select(found.c.rowid).where(
            found.c.example_id.in_(sa.select(examples_fts.c.rowid).where(_matches("examples_fts", *needles)))
        ),
        sa.select(found.c.rowid).where(found.c.example_id > _mark("examples")),
        sa.select(found.c.rowid).where(found.c.id.in_(edited)),
    )


class PerDialect(sa.sql.expression.ColumnElement[bool]):
    """A condition written differently per database, chosen when the statement is compiled (the
    review queries are built without knowing their database)."""

    inherit_cache = False  # its parts differ per instance: a statement holding one is not cached
    type = sa.Boolean()

    def __init__(self, default: Any, **by_dialect: Any) -> None:
        self.default = default
        self.by_dialect = by_dialect


@compiles(PerDialect)
def _compile_per_dialect(element: PerDialect, compiler: Any, **kw: Any) -> str:
    chosen = element.by_dialect.get(compiler.dialect.name, element.default)
    return str(compiler.process(chosen, **kw))


# ---- keeping it: deletes and the catch-up ------------------------------------------------------


def _marks(conn: Connection) -> dict[str, Any]:
    value = conn.execute(sa.select(settings.c.value).where(settings.c.key == MARKS_KEY)).scalar_one_or_none()
    return dict(value) if value else {"candidates": 0, "candidate_id": None, "examples": 0, "purge": False}


def _save_marks(conn: Connection, marks: dict[str, Any]) -> None:
    conn.execute(settings.update().where(settings.c.key == MARKS_KEY).values(value=marks))


def _candidate_at(conn: Connection, rowid: int) -> str | None:
    return conn.exec_driver_sql("SELECT id FROM candidates WHERE rowid = ?", (rowid,)).scalar_one_or_none()


def after_delete(conn: Connection, purge: bool = True) -> None:
    """Inside a transaction that deleted candidates or examples (SQLite): lower each mark to the
    highest rowid left, so a row that gets a deleted row's rowid is indexed again; ``purge``: the
    deleted rows may be in the index (not failed candidates), ``refresh`` drops their entries."""
    if conn.dialect.name != "sqlite":
        return
    marks = _marks(conn)
    if not marks["candidates"] and not marks["examples"]:
        return
    top = conn.exec_driver_sql("SELECT coalesce(max(rowid), 0) FROM candidates").scalar_one()
    if top < marks["candidates"]:
        marks["candidates"], marks["candidate_id"] = top, _candidate_at(conn, top)
    top_example = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM examples").scalar_one()
    marks["examples"] = min(marks["examples"], top_example)
    marks["purge"] = marks["purge"] or purge
    _save_marks(conn, marks)


@dataclass
class Refreshed:
    """What a ``refresh`` did: rows indexed and entries of deleted rows dropped."""

    candidates: int = 0
    examples: int = 0
    dropped: int = 0


def refresh(db: Database, chunk: int = CHUNK, steps: int | None = None) -> Refreshed:
    """Index every row after the marks (and drop deleted rows' entries), ``chunk`` rows of each
    table per write transaction, until caught up (or after ``steps`` transactions). SQLite only."""
    done = Refreshed()
    while db.dialect == "sqlite" and (steps is None or steps > 0):
        steps = None if steps is None else steps - 1
        # bump=False: search's results do not change, so the caches keyed by the store's version stay.
        step, moved = db.write(lambda conn: _step(conn, chunk), bump=False)
        done.candidates += step.candidates
        done.examples += step.examples
        done.dropped += step.dropped
        if not moved:
            break
    return done


def _step(conn: Connection, chunk: int) -> tuple[Refreshed, bool]:
    """One transaction of ``refresh``: what it did, and whether there may be more to do."""
    # A write first: it takes the write lock, so the marks read next are the newest; it makes the row.
    initial = {"candidates": 0, "candidate_id": None, "examples": 0, "purge": False}
    conn.execute(sqlite.insert(settings).values(key=MARKS_KEY, value=initial).on_conflict_do_nothing())
    marks = before = _marks(conn)
    if marks["candidates"] and _candidate_at(conn, marks["candidates"]) != marks["candidate_id"]:
        log.info("the candidates' rowids changed: the search index is built again")
        for table, *_ in _SOURCES:
            conn.exec_driver_sql(f"DELETE FROM {table}")
        marks = dict(initial)
    marks = dict(marks)
    step = Refreshed()
    if marks["purge"]:
        for table, base, key, _, _ in _SOURCES:
            step.dropped += conn.exec_driver_sql(
                f"DELETE FROM {table} WHERE rowid IN (SELECT f.rowid FROM {table} f WHERE NOT EXISTS "
                f"(SELECT 1 FROM {base} b WHERE b.{key} = f.rowid) LIMIT {int(chunk)})"
            ).rowcount
        marks["purge"] = step.dropped > 0
    for table, base, key, column, which in _SOURCES:
        name = base  # the mark's name
        mark = int(marks[name])
        # Entries above the mark are of deleted rows, whose rowid a new row may have taken.
        conn.exec_driver_sql(f"DELETE FROM {table} WHERE rowid > ?", (mark,))
        upto = conn.exec_driver_sql(
            f"SELECT max({key}) FROM (SELECT {key} FROM {base} WHERE {key} > ? ORDER BY {key} LIMIT {int(chunk)})",
            (mark,),
        ).scalar_one()
        if upto is None:
            continue
        added = conn.exec_driver_sql(
            f"INSERT INTO {table} (rowid, {column}) SELECT {key}, {column} FROM {base} "
            f"WHERE {key} > ? AND {key} <= ? AND {which}",
            (mark, upto),
        ).rowcount
        setattr(step, name, int(added))
        marks[name] = int(upto)
        if name == "candidates":
            marks["candidate_id"] = _candidate_at(conn, int(upto))
    moved = marks != before or step.dropped > 0
    if moved:
        _save_marks(conn, marks)
    return step, moved


def behind(db: Database) -> bool:
    """Whether ``refresh`` has something to do (three small reads; False off SQLite)."""
    if db.dialect != "sqlite":
        return False
    with db.connect() as conn:
        marks = _marks(conn)
        top = conn.exec_driver_sql("SELECT max(rowid) FROM candidates").scalar_one() or 0
        top_example = conn.exec_driver_sql("SELECT max(id) FROM examples").scalar_one() or 0
        moved = bool(marks["candidates"]) and _candidate_at(conn, marks["candidates"]) != marks["candidate_id"]
    return bool(marks["purge"]) or moved or top > marks["candidates"] or top_example > marks["examples"]


_running: dict[str, threading.Thread] = {}
_running_lock = threading.Lock()


def refresh_soon(db: Database) -> bool:
    """``refresh`` in a background thread, unless it has nothing to do or runs already for this
    database in this process; True when one was started. Searches are right meanwhile (slower)."""
    if not behind(db):
        return False
    with _running_lock:
        running = _running.get(db.url)
        if running is not None and running.is_alive():
            return False
        thread = threading.Thread(target=_refresh_quietly, args=(db,), name="search-index", daemon=True)
        _running[db.url] = thread
        thread.start()
    return True


def _refresh_quietly(db: Database) -> None:
    try:
        done = refresh(db)
        log.info("search index: %d candidates and %d examples indexed", done.candidates, done.examples)
    except Exception:  # a background job: searches stay right without it (the LIKE covers the rest)
        log.warning("the search index could not be brought up to date", exc_info=True)


class SearchIndexQueries:
    """The search index's catch-up; part of the Store facade."""

    db: Database

    def refresh_search_index(self, chunk: int = CHUNK, steps: int | None = None) -> Refreshed:
        """Index the rows stored since the last refresh (SQLite; a no-op elsewhere)."""
        return refresh(self.db, chunk, steps)

    def refresh_search_index_soon(self) -> bool:
        """``refresh_search_index`` in a background thread when it has something to do."""
        return refresh_soon(self.db)
