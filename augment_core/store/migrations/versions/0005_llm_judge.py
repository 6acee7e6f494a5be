"""The LLM judge: ``llm_judgements``, one verdict per candidate (keeps the meaning or not, a 0-1 score,
what changed, why), with the provider, model and cost of the call that made it."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "llm_judgements",
        sa.Column("candidate_id", sa.String(64), sa.ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("keeps_meaning", sa.Boolean, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("changed", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("provider", sa.String(60), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
        sa.Column("judged_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_llm_judgements_dataset_score", "llm_judgements", ["dataset_id", "score"])


def downgrade() -> None:
    op.drop_index("ix_llm_judgements_dataset_score", "llm_judgements")
    op.drop_table("llm_judgements")
