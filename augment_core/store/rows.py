"""Rows read from the tables turned into the records of ``augment_core.records``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from augment_core.records import (
    Candidate,
    CandidateKind,
    CandidateStatus,
    Decision,
    DecisionStatus,
    Example,
    Flag,
    Score,
)
from augment_core.store.db import chunks
from augment_core.store.schema import score_flags

SCORE_FIELDS = tuple(name for name in Score.__dataclass_fields__ if name != "flags")
CANDIDATE_FIELDS = tuple(Candidate.__dataclass_fields__)
# The enum members by stored value: a dict lookup is a fraction of an Enum call, paid per row of an export.
_KINDS = {member.value: member for member in CandidateKind}
_CANDIDATE_STATUSES = {member.value: member for member in CandidateStatus}
_DECISION_STATUSES = {member.value: member for member in DecisionStatus}


def example_of(row: Any) -> Example:
    return Example(
        id=row["id"], dataset_id=row["dataset_id"], position=row["position"], key=row["key"], record=row["record"]
    )


def flags_of(conn: Connection, candidate_ids: Sequence[str]) -> dict[str, list[Flag]]:
    """The flags of each scored candidate among ``candidate_ids``, in the order the guards found them."""
    found: dict[str, list[Flag]] = {}
    for chunk in chunks(candidate_ids):
        query = (
            sa.select(score_flags.c.candidate_id, score_flags.c.kind, score_flags.c.item, score_flags.c.change)
            .where(score_flags.c.candidate_id.in_(chunk))
            .order_by(score_flags.c.candidate_id, score_flags.c.position)
        )
        for cid, kind, item, change in conn.execute(query):
            found.setdefault(cid, []).append(Flag(kind, item, change))
    return found


def score_of(row: Any, flags: list[Flag], prefix: str = "") -> Score:
    """A Score from a row holding the score columns (named ``prefix + name``)."""
    values = {name: row[prefix + name] for name in SCORE_FIELDS if prefix + name in row}
    return Score(**values, flags=flags)


def candidate_of(row: Any) -> Candidate:
    values = {k: row[k] for k in CANDIDATE_FIELDS}
    values["kind"] = _KINDS[values["kind"]]
    values["status"] = _CANDIDATE_STATUSES[values["status"]]
    return Candidate(**values)


def decision_of(row: Any, prefix: str = "") -> Decision:
    """A Decision from a row holding the decision columns (named ``prefix + name``)."""
    return Decision(
        candidate_id=row[prefix + "candidate_id"],
        status=_DECISION_STATUSES[row[prefix + "status"]],
        edited_text=row[prefix + "edited_text"],
        decided_at=row[prefix + "decided_at"],
    )
