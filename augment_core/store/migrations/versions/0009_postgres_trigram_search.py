"""The text search's index on PostgreSQL: pg_trgm GIN indexes on the candidates' text and the
examples' records (``store/search_index.py``). Nothing on SQLite, whose index came with 0007.

Where the extension cannot be created (no right to), no index is made and the search scans.
"""

from __future__ import annotations

from alembic import op

from augment_core.store import search_index

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        search_index.install(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        search_index.uninstall(op.get_bind())
