"""Review as a team: ``responses`` (one row per candidate and reviewer), ``reviewers`` (roles), ``leases``
(work queues) and ``audits`` (the sample that checks the accept rule against people).

``decisions`` stays, now as the status the review rule derives from a candidate's responses, so
the review page's filters and sorts keep joining one row per candidate. Each decision stored
before becomes the response of a reviewer named ``local`` (``LEGACY_REVIEWER``): the one anonymous
reviewer of earlier versions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

LEGACY_REVIEWER = "local"


def upgrade() -> None:
    op.create_table(
        "responses",
        sa.Column("candidate_id", sa.String(64), sa.ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("reviewer", sa.String(200), primary_key=True),
        sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("edited_text", sa.Text, nullable=True),
        sa.Column("decided_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_responses_dataset_reviewer", "responses", ["dataset_id", "reviewer"])
    op.create_table(
        "reviewers",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "leases",
        sa.Column("candidate_id", sa.String(64), sa.ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("reviewer", sa.String(200), primary_key=True),
        sa.Column("expires_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "audits",
        sa.Column(
            "candidate_id", sa.String(64), sa.ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("accepted", sa.Boolean, nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=True),
        sa.Column("drawn_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_audits_dataset", "audits", ["dataset_id", "accepted"])
    op.execute(
        sa.text(
            "INSERT INTO responses (candidate_id, reviewer, dataset_id, status, edited_text, decided_at) "
            "SELECT d.candidate_id, :reviewer, c.dataset_id, d.status, d.edited_text, d.decided_at "
            "FROM decisions d JOIN candidates c ON c.id = d.candidate_id"
        ).bindparams(reviewer=LEGACY_REVIEWER)
    )


def downgrade() -> None:
    op.drop_index("ix_audits_dataset", "audits")
    op.drop_table("audits")
    op.drop_table("leases")
    op.drop_table("reviewers")
    op.drop_index("ix_responses_dataset_reviewer", "responses")
    op.drop_table("responses")
