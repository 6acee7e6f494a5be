"""``datasets.complete``: an import commits in chunks and shows its dataset only once all of it is in.

An import used to be one write transaction (15-28 s for 300k records), longer than SQLite's busy
timeout, so a reviewer's decision made meanwhile failed. Datasets stored before were whole.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("complete", sa.Boolean, nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("complete")
