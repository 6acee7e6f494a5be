"""Provenance: where each exported record came from and what was decided on it, under the seed's names.

One dict per record, every field in ``PROVENANCE_FIELDS`` order (None where it does not apply):
the export writes it as a ``metadata`` object (JSONL, JSON) or ``metadata.*`` columns. Keys that
look like secrets are never copied from parameters or usage.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

from augment_core.preference import side_of
from augment_core.records import Candidate, CandidateKind, Decision, DecisionStatus, Example, Response, Score

# The provenance fields, in this order, on every record (None where they do not apply).
PROVENANCE_FIELDS = (
    "origin",
    "source_id",
    "candidate_id",
    "augmenter",
    "target_field",
    "side",
    "params",
    "provider",
    "model",
    "usage",
    "created_at",
    "similarity",
    "length_ratio",
    "in_optimal_band",
    "is_valid",
    "near_duplicate",
    "meaning_preserved",
    "flags",
    "embedding_model",
    "decision",
    "edited_text",
    "decided_at",
    "responses",  # every reviewer's response; "decision" above is what the review rule derived from them
)
# Never let anything that looks like a credential out, whatever an augmenter put in its params.
_SECRET = re.compile(r"api[_-]?key|secret|password|authorization|bearer", re.IGNORECASE)

def pop_earlier_metadata(record: dict[str, Any]) -> Any:
    """Take the metadata a record already carries (a re-imported provenance export) out of it.

    Both shapes are taken: a ``metadata`` value and ``metadata.*`` columns (gathered into one
    object). None when there is none. The new provenance keeps it under ``previous``, so each
    round of export and re-import nests the lineage instead of overwriting it.
    """
    previous = record.pop("metadata", None)
    columns = [key for key in record if key.startswith("metadata.")]
    if columns:
        gathered = {key.removeprefix("metadata."): record.pop(key) for key in columns}
        previous = gathered if previous is None else {"metadata": previous, **gathered}
    return previous


@functools.lru_cache(maxsize=4096)
def _is_secret(key: str) -> bool:
    return _SECRET.search(key) is not None


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if not _is_secret(k)}


def original_meta(example: Example) -> dict[str, Any]:
    meta: dict[str, Any] = dict.fromkeys(PROVENANCE_FIELDS)
    meta.update(origin="original", source_id=example.key)
    return meta


def candidate_meta(
    candidate: Candidate,
    example: Example | None,
    score: Score | None,
    decision: Decision | None,
    schema: str = "",
    responses: Sequence[Response] = (),
) -> dict[str, Any]:
    prov = candidate.provenance or {}
    meta: dict[str, Any] = dict.fromkeys(PROVENANCE_FIELDS)
    meta.update(
        origin="refusal" if candidate.kind == CandidateKind.REFUSAL else "augmented",
        source_id=example.key if example is not None else None,
        candidate_id=candidate.id,
        augmenter=candidate.augmenter,
        target_field=candidate.target_field,
        side=side_of(schema, candidate.target_field),  # preference data: prompt, chosen or completion
        params=_clean(candidate.params or {}),
        provider=prov.get("provider"),
        model=prov.get("model") or (candidate.params or {}).get("model"),
        usage=_clean(prov["usage"]) if isinstance(prov.get("usage"), dict) else None,
        created_at=candidate.created_at,
        decision=decision.status if decision is not None else DecisionStatus.PENDING,
        edited_text=decision.edited_text if decision is not None else None,
        decided_at=decision.decided_at if decision is not None else None,
        responses=[
            {"reviewer": r.reviewer, "status": r.status.value, "edited_text": r.edited_text, "decided_at": r.decided_at}
            for r in responses
        ],
    )
    if score is not None:
        meta.update(
            similarity=score.semantic_similarity,
            length_ratio=score.length_ratio,
            in_optimal_band=score.in_optimal_band,
            is_valid=score.is_valid,
            near_duplicate=score.near_duplicate,
            meaning_preserved=score.meaning_preserved,
            flags=[str(flag) for flag in score.flags],
            embedding_model=score.model,
        )
    return meta
