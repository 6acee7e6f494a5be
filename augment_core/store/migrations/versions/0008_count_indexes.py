"""An index that serves a dataset's counts and Insights' histogram without reading the candidates' rows.

``ix_candidates_dataset_augmenter_status`` (dataset_id, augmenter, status, id) takes the place of
``ix_candidates_dataset_augmenter`` (its first two columns, so every query that used that one can use this):
the counts by augmenter and status, the decided count and the histogram's join to the scores read the
index alone (SQLite: COVERING INDEX). A (candidate_id, semantic_similarity) index on scores was tried for
the histogram too: without ANALYZE statistics SQLite's planner keeps the primary key's index for the join.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_index("ix_candidates_dataset_augmenter_status", "candidates",
                    ["dataset_id", "augmenter", "status", "id"])  # fmt: skip
    op.drop_index("ix_candidates_dataset_augmenter", table_name="candidates")


def downgrade() -> None:
    op.create_index("ix_candidates_dataset_augmenter", "candidates", ["dataset_id", "augmenter"])
    op.drop_index("ix_candidates_dataset_augmenter_status", table_name="candidates")
