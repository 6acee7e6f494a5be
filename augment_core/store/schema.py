"""The tables. Change them only together with a migration in ``migrations/versions``."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("schema", sa.String(40), nullable=False),
    sa.Column("source_path", sa.Text, nullable=False),
    sa.Column("file_type", sa.String(20), nullable=False),
    sa.Column("mapping", sa.JSON, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    # False while an import is still adding examples: such a dataset is not listed or found.
    sa.Column("complete", sa.Boolean, nullable=False, server_default=sa.true()),
)

examples = sa.Table(
    "examples",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("record", sa.JSON, nullable=False),
    sa.UniqueConstraint("dataset_id", "key", name="uq_examples_dataset_key"),
    sa.Index("ix_examples_dataset_position", "dataset_id", "position"),
)

candidates = sa.Table(
    "candidates",
    metadata,
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
    # Every count of a dataset's candidates by augmenter and status, and Insights' histogram, read from
    # this index alone (migration 0008: it took the place of (dataset_id, augmenter)).
    sa.Index("ix_candidates_dataset_augmenter_status", "dataset_id", "augmenter", "status", "id"),
    sa.Index("ix_candidates_example", "example_id"),
    # The review page's "file order": one dataset's candidates walked in order, a page at a time.
    sa.Index("ix_candidates_dataset_example", "dataset_id", "example_id", "id"),
)

scores = sa.Table(
    "scores",
    metadata,
    sa.Column("candidate_id", sa.String(64), sa.ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("semantic_similarity", sa.Float, nullable=False),
    sa.Column("is_valid", sa.Boolean, nullable=False),
    sa.Column("in_optimal_band", sa.Boolean, nullable=False),
    sa.Column("length_ratio", sa.Float, nullable=False),
    sa.Column("unique_words", sa.Integer, nullable=False),
    sa.Column("new_words", sa.JSON, nullable=False),
    sa.Column("near_duplicate", sa.Boolean, nullable=False),
    sa.Column("flag_count", sa.Integer, nullable=False),  # len of the score's rows in score_flags, for sorting
    sa.Column("meaning_preserved", sa.Float, nullable=True),
    sa.Column("truncated", sa.Boolean, nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("scored_at", sa.String(40), nullable=False),
    # A few words of each side without a counterpart (scoring.unmatched_words); None: scored before 0006.
    sa.Column("unmatched", sa.JSON, nullable=True),
    sa.Index("ix_scores_similarity", "semantic_similarity"),
)

# The guards' findings, one row each, so a filter by kind is an indexed lookup, not a text match.
score_flags = sa.Table(
    "score_flags",
    metadata,
    sa.Column(
        "candidate_id", sa.String(64), sa.ForeignKey("scores.candidate_id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("item", sa.Text, nullable=False),
    sa.Column("change", sa.Text, nullable=False),
    sa.Index("ix_score_flags_kind", "kind", "candidate_id"),
)

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("candidate_id", sa.String(64), sa.ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("edited_text", sa.Text, nullable=True),
    sa.Column("decided_at", sa.String(40), nullable=False),
    sa.Index("ix_decisions_status", "status"),
    # The few edited decisions, for the text search (search_index): a scan of these rows only.
    sa.Index(
        "ix_decisions_edited",
        "candidate_id",
        sqlite_where=sa.text("edited_text IS NOT NULL"),
        postgresql_where=sa.text("edited_text IS NOT NULL"),
    ),
)

# Each reviewer's own response; ``decisions`` above holds what the review rule derives from them.
responses = sa.Table(
    "responses",
    metadata,
    sa.Column("candidate_id", sa.String(64), sa.ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("reviewer", sa.String(200), primary_key=True),
    # The candidate's dataset, kept here so a reviewer's progress is counted from an index alone.
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("edited_text", sa.Text, nullable=True),
    sa.Column("decided_at", sa.String(40), nullable=False),
    sa.Index("ix_responses_dataset_reviewer", "dataset_id", "reviewer"),
)

reviewers = sa.Table(
    "reviewers",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("role", sa.String(20), nullable=False),  # admin | reviewer
    sa.Column("created_at", sa.String(40), nullable=False),
)

# A candidate handed out by a reviewer's "Next" is held for them until ``expires_at`` (ISO time).
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("candidate_id", sa.String(64), sa.ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("reviewer", sa.String(200), primary_key=True),
    sa.Column("expires_at", sa.String(40), nullable=False),
)

# The audit of the accept rule: a stratified sample of candidates, each with the rule's verdict when drawn.
audits = sa.Table(
    "audits",
    metadata,
    sa.Column("candidate_id", sa.String(64), sa.ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    sa.Column("accepted", sa.Boolean, nullable=False),  # the accept rule's verdict
    sa.Column("reviewer", sa.String(200), nullable=True),  # queued for this reviewer; None: anyone
    sa.Column("drawn_at", sa.String(40), nullable=False),
    sa.Index("ix_audits_dataset", "dataset_id", "accepted"),
)

# The last bulk action on a dataset, with what each candidate it changed had before: its undo, for
# any admin, in any tab, after a reload; one row per dataset, replaced by the next bulk action.
bulk_undo = sa.Table(
    "bulk_undo",
    metadata,
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("action", sa.String(40), nullable=False),  # the studio's name for it (approve-valid, ...)
    sa.Column("count", sa.Integer, nullable=False),  # candidates it changed
    sa.Column("reviewer", sa.String(200), nullable=False),  # who applied it
    sa.Column("decided_at", sa.String(40), nullable=False),  # the time it wrote on every decision
    sa.Column("change", sa.JSON, nullable=False),  # BulkChange: written, decisions_before, responses_before
)

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
)

llm_cache = sa.Table(
    "llm_cache",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("provider", sa.String(40), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("response", sa.JSON, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
)

# The LLM judge's second opinion on a candidate (`augment judge`, the review page's button): its own
# score, never mixed into meaning_preserved; a candidate keeps the latest verdict.
llm_judgements = sa.Table(
    "llm_judgements",
    metadata,
    sa.Column("candidate_id", sa.String(64), sa.ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    sa.Column("keeps_meaning", sa.Boolean, nullable=False),
    sa.Column("score", sa.Float, nullable=False),  # 0-1: how sure the judge is that the meaning is kept
    sa.Column("changed", sa.Text, nullable=False),  # what changed, in the judge's words ("" for nothing)
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("provider", sa.String(60), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("cost_usd", sa.Float, nullable=False),
    sa.Column("judged_at", sa.String(40), nullable=False),
    sa.Index("ix_llm_judgements_dataset_score", "dataset_id", "score"),
)


def _install_search_index(_target: object, connection: sa.Connection, **_kw: object) -> None:
    from augment_core.store import search_index  # it imports this module

    search_index.install(connection)


# The text search's FTS5 tables (SQLite), which are not tables here.
sa.event.listen(metadata, "after_create", _install_search_index)
