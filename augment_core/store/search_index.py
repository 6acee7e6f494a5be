"""The index under the review page's text search: SQLite FTS5 trigram tables, PostgreSQL pg_trgm GIN indexes.

Search (``review_queries.search_clause``) is a substring match, in any case, over a candidate's
text, its edit and its original record as stored (JSON). ``LIKE '%...%'`` can use no B-tree index:

- SQLite: ``candidates_fts`` (the candidate's text, with its id and dataset) and ``examples_fts``
  (external content over ``examples.record``, keyed by the example's integer id), trigram
  tokenizer, kept in sync by triggers. A phrase query finds every row containing a string of 3+
  characters, case folded over all of Unicode; the LIKE is then checked on those rows alone, so
  the results are LIKE's own. Shorter strings are matched by LIKE alone. Edits are few: a partial
  index on ``decisions`` (schema.py) serves them.
- PostgreSQL: GIN trigram indexes on ``candidates.text``, ``examples.record::text`` and
  ``decisions.edited_text``, which ILIKE uses by itself. Without the pg_trgm extension (not
  installed on the server, or no right to create it) they are left out and search scans as before.

``candidates_fts`` holds its own copy of the text, not the candidates' rowid (a text primary key
leaves rowids free to change in a VACUUM); its rows go when their dataset does. Made by
``schema.metadata``'s create_all and by migration 0006 (``install``). A later migration that
rebuilds ``candidates``, ``examples`` or ``datasets`` in SQLite batch mode drops their triggers and
must call ``install`` again.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles

log = logging.getLogger(__name__)

MIN_FTS_CHARS = 3  # a trigram index finds strings of at least three characters

candidates_fts = sa.table("candidates_fts", sa.column("candidate_id", sa.String))
examples_fts = sa.table("examples_fts", sa.column("rowid", sa.Integer))

_SQLITE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS candidates_fts USING fts5("
    "candidate_id UNINDEXED, dataset_id UNINDEXED, text, tokenize='trigram')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS examples_fts USING fts5("
    "record, content='examples', content_rowid='id', tokenize='trigram')",
    # Only reviewable candidates are searched; a failed one is never updated to ok, only replaced.
    "CREATE TRIGGER IF NOT EXISTS candidates_fts_insert AFTER INSERT ON candidates WHEN new.status = 'ok' BEGIN "
    "INSERT INTO candidates_fts (candidate_id, dataset_id, text) VALUES (new.id, new.dataset_id, new.text); END",
    # Rare (nothing in the tool changes a candidate's text): a scan of candidates_fts is fine here.
    "CREATE TRIGGER IF NOT EXISTS candidates_fts_update AFTER UPDATE OF text, status ON candidates BEGIN "
    "DELETE FROM candidates_fts WHERE candidate_id = old.id; "
    "INSERT INTO candidates_fts (candidate_id, dataset_id, text) "
    "SELECT new.id, new.dataset_id, new.text WHERE new.status = 'ok'; END",
    # Candidates go with their dataset (a cascade): their search rows go with it, in one statement.
    "CREATE TRIGGER IF NOT EXISTS datasets_fts_delete AFTER DELETE ON datasets BEGIN "
    "DELETE FROM candidates_fts WHERE dataset_id = old.id; END",
    "CREATE TRIGGER IF NOT EXISTS examples_fts_insert AFTER INSERT ON examples BEGIN "
    "INSERT INTO examples_fts (rowid, record) VALUES (new.id, new.record); END",
    "CREATE TRIGGER IF NOT EXISTS examples_fts_delete AFTER DELETE ON examples BEGIN "
    "INSERT INTO examples_fts (examples_fts, rowid, record) VALUES ('delete', old.id, old.record); END",
    "CREATE TRIGGER IF NOT EXISTS examples_fts_update AFTER UPDATE OF record ON examples BEGIN "
    "INSERT INTO examples_fts (examples_fts, rowid, record) VALUES ('delete', old.id, old.record); "
    "INSERT INTO examples_fts (rowid, record) VALUES (new.id, new.record); END",
)
_SQLITE_FILL = (
    "DELETE FROM candidates_fts",
    "INSERT INTO candidates_fts (candidate_id, dataset_id, text) SELECT id, dataset_id, text FROM candidates "
    "WHERE status = 'ok'",
    "INSERT INTO examples_fts (examples_fts) VALUES ('rebuild')",
)
_POSTGRES = (
    "CREATE INDEX IF NOT EXISTS ix_candidates_text_trgm ON candidates USING gin (text gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_examples_record_trgm ON examples USING gin ((CAST(record AS TEXT)) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_decisions_edited_trgm ON decisions USING gin (edited_text gin_trgm_ops)",
)


def install(conn: Connection) -> bool:
    """Create the search index for ``conn``'s database and fill it from the rows stored; False when
    there is none for it (another database, or PostgreSQL without pg_trgm)."""
    if conn.dialect.name == "sqlite":
        for statement in (*_SQLITE, *_SQLITE_FILL):
            conn.exec_driver_sql(statement)
        return True
    if conn.dialect.name != "postgresql":
        return False
    try:
        with conn.begin_nested():  # a refused CREATE EXTENSION must not abort the migration's transaction
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as exc:
        log.warning("pg_trgm is not available (%s): text search works without an index", " ".join(str(exc).split()))
        return False
    for statement in _POSTGRES:
        conn.exec_driver_sql(statement)
    return True


def uninstall(conn: Connection) -> None:
    """Drop what ``install`` made (a migration's downgrade); the pg_trgm extension stays, others may use it."""
    if conn.dialect.name == "sqlite":
        for name in ("candidates_fts_insert", "candidates_fts_update", "datasets_fts_delete", "examples_fts_insert",
                     "examples_fts_delete", "examples_fts_update"):  # fmt: skip
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql("DROP TABLE IF EXISTS candidates_fts")
        conn.exec_driver_sql("DROP TABLE IF EXISTS examples_fts")
    elif conn.dialect.name == "postgresql":
        for statement in _POSTGRES:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {statement.split()[5]}")


def fts_phrase(*needles: str) -> str:
    """An FTS5 query matching rows that contain any of ``needles`` as a substring (trigram tables)."""
    return " OR ".join('"' + needle.replace('"', '""') + '"' for needle in needles)


def matches(table: str, *needles: str) -> Any:
    """``<table> MATCH <phrase>``: rows of an FTS5 table containing any of ``needles``."""
    return sa.literal_column(table).op("MATCH")(sa.literal(fts_phrase(*needles)))


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
