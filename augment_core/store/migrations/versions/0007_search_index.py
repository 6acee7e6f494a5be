"""The text search's index: SQLite FTS5 trigram tables, made empty (``store/search_index.py``).

``candidates_fts`` and ``examples_fts`` are filled out of band (``search_index.refresh``, which the
studio runs when it searches): until then a search is the LIKE scan it was, with the same results.
``ix_decisions_edited``: the few edited decisions, which the search reads with a LIKE.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from augment_core.store import search_index

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    where = sa.text("edited_text IS NOT NULL")
    op.create_index("ix_decisions_edited", "decisions", ["candidate_id"], sqlite_where=where, postgresql_where=where)
    search_index.install(op.get_bind())


def downgrade() -> None:
    search_index.uninstall(op.get_bind())
    op.drop_index("ix_decisions_edited", "decisions")
