"""The engine under every query: opening a URL, transactions, dialect inserts, chunking, errors.

SQLite file by default (WAL, foreign keys on); any SQLAlchemy URL works (PostgreSQL for a team).
Opening a database brings its schema up to date through the migrations (``migrate.upgrade``).
A failure of the database itself comes out as one :class:`~augment_core.errors.StoreError`.
"""

from __future__ import annotations

import threading
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
from augment_core.store.schema import settings

DEFAULT_URL = "sqlite:///augment.db"
# A settings row counting the store's write transactions: what a reader caches by (the studio's counts).
VERSION_KEY = "store.version"
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


def _mark_writes(conn: Connection, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool) -> None:
    if context is not None and (context.isinsert or context.isupdate or context.isdelete):
        conn.info["wrote"] = True


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
        sa.event.listen(self.engine, "before_cursor_execute", _mark_writes)
        self._written = threading.local()  # the version this thread's last write transaction made

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def begin(self, bump: bool = True) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back on any exception.

        One that wrote also adds 1 to the store's version (``bump=False``: a write no reader
        caches, such as a lease), in the same transaction, so a cache keyed by the version is
        never stale, whichever process wrote.
        """
        with self.errors(), self.engine.begin() as conn:
            conn.info["wrote"] = False
            yield conn
            if bump and conn.info.pop("wrote", False):
                self._bump(conn)

    def _bump(self, conn: Connection) -> None:
        # Locked (PostgreSQL) and last in the transaction, so writers pass it one at a time and hold it briefly.
        row = sa.select(settings.c.value).where(settings.c.key == VERSION_KEY).with_for_update()
        version = int(conn.execute(row).scalar_one_or_none() or 0) + 1
        conn.execute(self.upsert(settings, {"key": VERSION_KEY, "value": version}, ["value"]))
        self._written.version = version

    def version(self) -> int:
        """The store's version: it moves with every committed write transaction (of any process)."""
        with self.connect() as conn:
            return int(conn.execute(sa.select(settings.c.value).where(settings.c.key == VERSION_KEY)).scalar() or 0)

    @property
    def last_written_version(self) -> int | None:
        """The version this thread's last write transaction made (None before its first)."""
        return getattr(self._written, "version", None)

    def write(self, work: Callable[[Connection], T], patience: float = 120.0, bump: bool = True) -> T:
        """``work`` in one write transaction, run again while the database stays locked by another
        writer (up to ``patience`` seconds): a reviewer's decision waits for an import or a run's
        batch to commit instead of being lost."""
        deadline = time.monotonic() + patience
        while True:
            try:
                with self.begin(bump) as conn:
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
