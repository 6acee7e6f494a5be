"""The write of a run's batch: its candidates into the store, as ``Pipeline`` makes them.

Stale failures (slots a retry left empty) are deleted, retried failures are replaced by the retry's
result, candidates already stored as ``ok`` are not written again (an item whose every candidate is
stored counts as skipped), and a rewrite whose text (case and punctuation aside) is already stored
for the same example and field, by any augmenter, is dropped as a duplicate. The counts come back
per augmenter for the run's tally (``augment_core.run_tally``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from augment_core.guards import normalise
from augment_core.records import Candidate, CandidateStatus

if TYPE_CHECKING:
    from augment_core.store import Store

Made = tuple[str, list[Candidate], list[str]]  # an item's augmenter, its candidates, its slots left empty


@dataclass
class Written:
    """What one write did: new candidates stored, and per augmenter the items skipped, the
    candidates added and the duplicates dropped."""

    added: int = 0  # as the store counts them
    skipped: Counter[str] = field(default_factory=Counter)
    added_by: Counter[str] = field(default_factory=Counter)
    duplicates: Counter[str] = field(default_factory=Counter)


def write_candidates(store: Store, dataset_id: int, results: Sequence[Made]) -> Written:
    """Store the candidates of ``results`` (items of ``dataset_id``) in one write."""
    written = Written()
    made = [c for _, candidates_, _ in results for c in candidates_]
    # A retry that filled fewer slots than before leaves the other slots' failures stale: drop them.
    stale = [i for _, _, empty in results for i in empty]
    if stale:
        store.delete_failed_candidates(stale)
    if not made:
        return written
    unique = list({c.id: c for c in made}.values())
    statuses = store.candidate_statuses(c.id for c in unique)
    for name, candidates_, _ in results:
        # Every candidate already stored as ok (templates have no known slots to check first).
        if candidates_ and all(statuses.get(c.id) == CandidateStatus.OK for c in candidates_):
            written.skipped[name] += 1
    retried = [c.id for c in unique if statuses.get(c.id) == CandidateStatus.FAILED]
    if retried:  # replaced by the retry's result, or dropped with it when that is a duplicate
        store.delete_failed_candidates(retried)
    fresh = _drop_duplicates(store, dataset_id, [c for c in unique if statuses.get(c.id) != "ok"], written)
    written.added = store.add_candidates(fresh)
    for c in fresh:
        written.added_by[c.augmenter] += 1
    return written


def _drop_duplicates(store: Store, dataset_id: int, fresh: list[Candidate], written: Written) -> list[Candidate]:
    """``fresh`` without the rewrites whose text is already stored (or earlier in ``fresh``) for the
    same example and field, whichever augmenter wrote it: a rerun with another seed or setting
    must not store the same text under a new id."""
    examples = {c.example_id for c in fresh if c.example_id is not None and c.status == "ok"}
    stored = store.candidate_texts(dataset_id, examples)
    seen: set[tuple[int | None, str | None, str]] = {(x, target, normalise(text)) for x, target, text in stored}
    kept: list[Candidate] = []
    for c in fresh:
        key = (c.example_id, c.target_field, normalise(c.text))
        if c.example_id is not None and c.status == "ok" and c.kind == "rewrite":
            if key in seen:
                written.duplicates[c.augmenter] += 1
                continue
            seen.add(key)
        kept.append(c)
    return kept
