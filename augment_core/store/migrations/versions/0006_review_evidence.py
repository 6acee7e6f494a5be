"""``scores.unmatched``: the token alignment's unmatched words of each side, shown on the review card.

Scores stored before have none (NULL) and the card shows nothing for them; rescoring fills it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.add_column(sa.Column("unmatched", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.drop_column("unmatched")
