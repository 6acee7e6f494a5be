"""Bring a database's schema to the current revision with Alembic, on every open.

Four cases: a new (empty) database gets the tables of ``schema.py`` at once and is stamped
``HEAD`` (Alembic's own advice for a fresh database; running every migration cost a new file
0.3 s, and a test checks both roads end in the same tables); a database made before migrations
existed (tables, no ``alembic_version``) is stamped as revision 0001, the schema it has, then
upgraded; a database at an older revision is upgraded; a database at ``HEAD`` costs one small
query and Alembic is not imported.
A database from a newer version of this tool is refused rather than written in a shape it does
not know. The whole upgrade is one transaction (SQLite: ``BEGIN IMMEDIATE``, so a second process
opening the same file waits for it instead of migrating twice); a crash leaves the old schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from augment_core.errors import StoreError

HEAD = "0009"  # the newest file in migrations/versions; a test checks they agree
MIGRATIONS = Path(__file__).with_name("migrations")
# Alembic's own table, as its `stamp` makes it: a new database is stamped without importing Alembic.
_VERSION = sa.Table(
    "alembic_version",
    sa.MetaData(),
    sa.Column("version_num", sa.String(32), nullable=False),
    sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def current_revision(conn: Connection) -> str | None:
    """The stored revision; ``"legacy"`` for tables made before migrations; None for an empty database."""
    tables = set(sa.inspect(conn).get_table_names())
    if "alembic_version" in tables:
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
    return "legacy" if "datasets" in tables else None


def upgrade(engine: Engine, shown_url: str) -> None:
    """Migrate ``engine``'s database to HEAD (a no-op when it is there already)."""
    with engine.connect() as conn:
        if current_revision(conn) == HEAD:
            return
    on_file = engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")
    migrator = _sqlite_migrator(engine) if on_file else engine
    try:
        with migrator.begin() as conn:
            if current_revision(conn) is None:  # again, inside the transaction: another process may have won
                _create(conn)
            else:
                run_migrations(conn, shown_url)
    finally:
        if migrator is not engine:
            migrator.dispose()


def _create(conn: Connection) -> None:
    """An empty database: the current tables, stamped HEAD."""
    from augment_core.store.db import VERSION_KEY
    from augment_core.store.schema import metadata, settings

    metadata.create_all(conn)
    # The store version's row exists from the start, so concurrent first writers only update it.
    conn.execute(settings.insert().values(key=VERSION_KEY, value=0))
    _VERSION.create(conn)
    conn.execute(_VERSION.insert().values(version_num=HEAD))


def run_migrations(conn: Connection, shown_url: str) -> None:
    """Every migration from the stored revision (none: from the first) up to HEAD, through Alembic."""
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    revision = current_revision(conn)  # again, inside the transaction: another process may have migrated
    if revision == HEAD:
        return
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    if revision not in (None, "legacy") and revision not in known:
        raise StoreError(
            f"database {shown_url} is at schema revision {revision}, newer than this version knows "
            f"(up to {HEAD}); upgrade augment-studio to open it"
        )
    config.attributes["connection"] = conn
    if revision == "legacy":
        command.stamp(config, "0001")
    command.upgrade(config, "head")


def _sqlite_migrator(engine: Engine) -> Engine:
    """An engine for the migration alone: real transactions around DDL, foreign keys off while
    tables are rebuilt (so a rebuild never cascades), the write lock taken at the start."""
    migrator = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # pysqlite would otherwise commit before each DDL
        dbapi_connection.execute("PRAGMA busy_timeout=30000")
        dbapi_connection.execute("PRAGMA foreign_keys=OFF")

    def on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    sa.event.listen(migrator, "connect", on_connect)
    sa.event.listen(migrator, "begin", on_begin)
    return migrator
