"""The review card's evidence and the text search's index.

``scores.unmatched``: the token alignment's unmatched words of each side, shown on the review card;
scores stored before have none (NULL) and the card shows nothing for them.
The search index (``store/search_index.py``): SQLite FTS5 trigram tables filled from the rows
stored and kept by triggers, or PostgreSQL pg_trgm GIN indexes; ``ix_decisions_edited`` for edits.
``bulk_undo``: the last bulk action of each dataset and what it replaced, so its undo outlives the
browser session that applied it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from augment_core.store import search_index

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.add_column(sa.Column("unmatched", sa.JSON, nullable=True))
    where = sa.text("edited_text IS NOT NULL")
    op.create_index("ix_decisions_edited", "decisions", ["candidate_id"], sqlite_where=where, postgresql_where=where)
    search_index.install(op.get_bind())
    op.create_table(
        "bulk_undo",
        sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("decided_at", sa.String(40), nullable=False),
        sa.Column("change", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("bulk_undo")
    search_index.uninstall(op.get_bind())
    op.drop_index("ix_decisions_edited", "decisions")
    with op.batch_alter_table("scores") as batch:
        batch.drop_column("unmatched")
