"""``scores.unmatched`` and ``bulk_undo``.

``scores.unmatched``: the token alignment's unmatched words of each side, shown on the review card;
scores stored before have none (NULL) and the card shows nothing for them; rescoring fills it.
``bulk_undo``: the last bulk action of each dataset and what it replaced, so its undo outlives the
browser session that applied it. The settings row ``store.version`` (``db.VERSION_KEY``), which every
write transaction moves.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.add_column(sa.Column("unmatched", sa.JSON, nullable=True))
    op.create_table(
        "bulk_undo",
        sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("decided_at", sa.String(40), nullable=False),
        sa.Column("change", sa.JSON, nullable=False),
    )
    settings = sa.table("settings", sa.column("key", sa.String), sa.column("value", sa.JSON))
    op.bulk_insert(settings, [{"key": "store.version", "value": 0}])


def downgrade() -> None:
    op.execute("DELETE FROM settings WHERE key = 'store.version'")
    op.drop_table("bulk_undo")
    with op.batch_alter_table("scores") as batch:
        batch.drop_column("unmatched")
