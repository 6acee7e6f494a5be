"""The schema as it stood before migrations: what `create_all` made up to the store package.

A database made by that version has these tables and no ``alembic_version``; opening it stamps
this revision and upgrades from here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("schema", sa.String(40), nullable=False),
        sa.Column("source_path", sa.Text, nullable=False),
        sa.Column("file_type", sa.String(20), nullable=False),
        sa.Column("mapping", sa.JSON, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "examples",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
        sa.UniqueConstraint("dataset_id", "key", name="uq_examples_dataset_key"),
    )
    op.create_index("ix_examples_dataset_position", "examples", ["dataset_id", "position"])

    op.create_table(
        "candidates",
        # Deterministic: a hash of (example, augmenter, parameters, index), so a rerun adds nothing twice.
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("example_id", sa.Integer, sa.ForeignKey("examples.id", ondelete="CASCADE"), nullable=True),
        sa.Column("augmenter", sa.String(60), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False, default="rewrite"),
        sa.Column("target_field", sa.String(200), nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("record", sa.JSON, nullable=True),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("provenance", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, default="ok"),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_candidates_dataset_augmenter", "candidates", ["dataset_id", "augmenter"])
    op.create_index("ix_candidates_example", "candidates", ["example_id"])
    op.create_index("ix_candidates_dataset_example", "candidates", ["dataset_id", "example_id", "id"])

    op.create_table(
        "scores",
        sa.Column("candidate_id", sa.String(64), sa.ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("semantic_similarity", sa.Float, nullable=False),
        sa.Column("is_valid", sa.Boolean, nullable=False),
        sa.Column("in_optimal_band", sa.Boolean, nullable=False),
        sa.Column("length_ratio", sa.Float, nullable=False),
        sa.Column("unique_words", sa.Integer, nullable=False),
        sa.Column("new_words", sa.JSON, nullable=False),
        sa.Column("near_duplicate", sa.Boolean, nullable=False),
        sa.Column("flags", sa.JSON, nullable=False),
        sa.Column("flag_count", sa.Integer, nullable=False),
        sa.Column("meaning_preserved", sa.Float, nullable=True),
        sa.Column("truncated", sa.Boolean, nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("scored_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_scores_similarity", "scores", ["semantic_similarity"])

    op.create_table(
        "decisions",
        sa.Column("candidate_id", sa.String(64), sa.ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("edited_text", sa.Text, nullable=True),
        sa.Column("decided_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_decisions_status", "decisions", ["status"])

    op.create_table(
        "settings",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("value", sa.JSON, nullable=False),
    )
    op.create_table(
        "llm_cache",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("response", sa.JSON, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    for table in ("llm_cache", "settings", "decisions", "scores", "candidates", "examples", "datasets"):
        op.drop_table(table)
