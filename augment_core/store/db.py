"""The engine under every query: opening a URL, transactions, dialect inserts, chunking, errors.

SQLite file by default (WAL, foreign keys on); any SQLAlchemy URL works (PostgreSQL for a team).
Opening a database brings its schema up to date through the migrations (``migrate.upgrade``).
A failure of the database itself comes out as one :class:`~augment_core.errors.StoreError`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from augment_core.errors import InputError, StoreError
from augment_core.jsontext import to_json

DEFAULT_URL = "sqlite:///augment.db"
CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits

T = TypeVar("T")


def now() -> str:
    """The current UTC time as an ISO 8601 string (portable across databases)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in slices of ``size``, for IN lists and batched inserts."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def masked_url(url: str) -> str:
    """The URL with its password hidden, fit for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def one_line(error: object) -> str:
    """A driver's message on one line (psycopg's span several)."""
    return " ".join(str(error).split())


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Database:
    """One engine and the few statement builders that differ between dialects."""

    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.url = url
        shown = masked_url(url)
        try:
            self.engine: Engine = sa.create_engine(url, json_serializer=to_json)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
            raise InputError(f"--db '{shown}': not a usable database URL ({exc})") from None
        except ModuleNotFoundError as exc:  # e.g. mysql:// without its driver; PostgreSQL's psycopg is installed
            raise InputError(f"--db '{shown}': its database driver is not installed ({exc.name})") from None
        self.dialect = self.engine.dialect.name
        if self.dialect == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back on any exception."""
        with self.errors(), self.engine.begin() as conn:
            yield conn

    def write(self, work: Callable[[Connection], T], patience: float = 120.0) -> T:
        """``work`` in one write transaction, run again while the database stays locked by another
        writer (up to ``patience`` seconds): a reviewer's decision waits for an import or a run's
        batch to commit instead of being lost."""
        deadline = time.monotonic() + patience
        while True:
            try:
                with self.begin() as conn:
                    return work(conn)
            except StoreError as exc:
                locked = "database is locked" in str(exc) or "database is busy" in str(exc)
                if not locked or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reads."""
        with self.errors(), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def errors(self) -> Iterator[None]:
        """SQLAlchemy's failures of the database itself as one StoreError, with the URL masked."""
        try:
            yield
        except sa.exc.OperationalError as exc:
            raise StoreError(f"database {masked_url(self.url)}: {one_line(exc.orig)}") from exc

    def insert(self, table: sa.Table) -> Any:
        """The database's own INSERT construct, which knows its conflict clause."""
        build = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(self.dialect, mysql.insert)
        return build(table)

    def upsert(self, table: sa.Table, row: dict[str, Any], update: Sequence[str]) -> Any:
        """One INSERT that updates ``update`` columns when the primary key exists (no delete-then-insert race)."""
        stmt = self.insert(table).values(**row)
        if self.dialect in ("sqlite", "postgresql"):
            keys = [c.name for c in table.primary_key.columns]
            return stmt.on_conflict_do_update(index_elements=keys, set_={c: stmt.excluded[c] for c in update})
        return stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in update})

    def insert_ignoring_duplicates(self, table: sa.Table) -> Any:
        """An INSERT that skips rows whose primary key exists (resume without duplicates)."""
        if self.dialect in ("sqlite", "postgresql"):
            return self.insert(table).on_conflict_do_nothing()
        return table.insert().prefix_with("IGNORE")  # MySQL / MariaDB

    def insert_new(self, conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> int:
        """Insert ``rows``, skipping those whose key is stored; returns how many this call inserted."""
        if not rows:
            return 0
        insert = self.insert_ignoring_duplicates(table)
        if self.dialect == "postgresql":
            # psycopg's executemany rowcount is not the sum over a batched insert; the keys it
            # returns are (ON CONFLICT DO NOTHING returns only the rows it inserted).
            key = next(iter(table.primary_key.columns))
            return len(conn.execute(insert.returning(key), list(rows)).all())
        # sqlite3 and the MySQL drivers sum the rows each statement of an executemany inserted.
        return int(conn.execute(insert, list(rows)).rowcount)
