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
    search_index.install_trigram_indexes(op.get_bind())


def downgrade() -> None:
    search_index.drop_trigram_indexes(op.get_bind())
