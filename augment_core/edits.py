"""A reviewer's edit: approved, then scored again on the text it now has.

The candidate's scores (similarity, guards, meaning verdict, near-duplicate among its siblings) are
replaced by those of the edited text, with the scoring the CLI's ``augment score`` uses
(``quality.score_texts``), so filters, the accept rule and the export's provenance describe the
text that will be exported, not the one the reviewer rewrote.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from augment_core.records import CandidateKind, Decision, get_field

if TYPE_CHECKING:
    from augment_core.quality import Embedder
    from augment_core.records import Score
    from augment_core.store import Store


def save_edit(store: Store, candidate_id: str, text: str, reviewer: str, embedder: Embedder) -> Decision:
    """Approve ``candidate_id`` with ``text`` as its edit, and rescore it on that text."""
    decision = store.set_decision(candidate_id, "approved", edited_text=text, reviewer=reviewer)
    rescore(store, candidate_id, embedder)
    return decision


def rescore(store: Store, candidate_id: str, embedder: Embedder) -> Score | None:
    """Score the candidate's text as it stands after review (its edit, else its own) and store it;
    None for a candidate with no original to compare with (a new record, such as a refusal)."""
    from augment_core.quality import near_duplicates, score_texts, thresholds_from_store
    from augment_core.scoring import load_meaning_model

    row = store.review_row(candidate_id)
    if row is None or row.original is None or row.candidate.kind != CandidateKind.REWRITE:
        return None
    candidate = row.candidate
    if not candidate.target_field or candidate.example_id is None:
        return None
    thresholds = thresholds_from_store(store)
    original = get_field(row.original, candidate.target_field)
    (score,) = score_texts([candidate.id], [original], [row.text], embedder, thresholds, load_meaning_model())
    siblings = [
        text
        for _, field, text in store.candidate_texts(candidate.dataset_id, [candidate.example_id])
        if field == candidate.target_field and text != candidate.text
    ]
    if siblings:
        texts = [*siblings, row.text]
        score.near_duplicate = near_duplicates(texts, embedder.embed(texts), thresholds.valid_window[1])[-1]
    store.replace_score(score)
    return score
