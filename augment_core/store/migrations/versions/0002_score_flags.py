"""Flags as rows (kind, item, change) in ``score_flags`` instead of a JSON list of strings on the score.

A filter by flag kind becomes an indexed lookup; no query parses flag text any more. The old
strings read "<kind> <item> <change>" (``Flag.__str__``); they are split once, here.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

_CHANGES = ("missing", "added")


def _split(text: str) -> tuple[str, str, str]:
    """(kind, item, change) from a flag string such as ``number 700-1000 missing`` or
    ``quantity 5 kg changed to 5 lb``."""
    kind, _, rest = text.partition(" ")
    for change in _CHANGES:
        if rest == change:
            return kind, "", change
        if rest.endswith(" " + change):
            return kind, rest[: -len(change) - 1], change
    item, sep, after = rest.partition(" changed to ")
    if sep:
        return kind, item, "changed to " + after
    return kind, rest, ""


def upgrade() -> None:
    conn = op.get_bind()
    scores = sa.table("scores", sa.column("candidate_id", sa.String), sa.column("flags", sa.Text))
    query = sa.select(scores.c.candidate_id, sa.cast(scores.c.flags, sa.Text)).where(scores.c.flags.is_not(None))
    rows: list[dict[str, Any]] = []
    for candidate_id, text in conn.execute(query).all():
        for position, flag in enumerate(json.loads(text) if text else []):
            kind, item, change = _split(str(flag))
            rows.append(dict(candidate_id=candidate_id, position=position, kind=kind, item=item, change=change))
    # The column goes first: on SQLite the batch rebuild drops and recreates ``scores``, which
    # would cascade into flag rows that referenced it already.
    with op.batch_alter_table("scores") as batch:
        batch.drop_column("flags")
    flags = op.create_table(
        "score_flags",
        sa.Column(
            "candidate_id", sa.String(64), sa.ForeignKey("scores.candidate_id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("item", sa.Text, nullable=False),
        sa.Column("change", sa.Text, nullable=False),
    )
    op.create_index("ix_score_flags_kind", "score_flags", ["kind", "candidate_id"])
    for start in range(0, len(rows), 5000):
        conn.execute(flags.insert(), rows[start : start + 5000])


def downgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.add_column(sa.Column("flags", sa.JSON, nullable=False, server_default="[]"))
    op.drop_index("ix_score_flags_kind", "score_flags")
    op.drop_table("score_flags")
