"""The review rules: what a filter selects, the accept rule, and the bulk actions built on them.

One place for each rule, used by `augment review`, the studio's bulk actions, the mix and
`augment export --status valid`:

- ``ReviewFilter``: what the review page and a bulk action select (the store turns it into SQL).
- ``accept_rule(store)``: the pending candidates the scores say to approve: inside the validity
  window, no guard flag, no near-duplicate, no truncated text and, with a fitted meaning model,
  ``meaning_preserved`` at its cut-off. What is doubtful stays for a human.
- ``bulk_plan``: each bulk action as (filter, decision) pairs; only the filter-based ones touch
  decided candidates.
- ``ReviewRule`` / ``derive``: a candidate's status from its reviewers' responses: nothing until
  ``review.min_responses`` responses, then by ``review.agreement``: ``any`` (the latest response,
  what one reviewer always had), ``majority`` (more than half; a tie stays pending) or
  ``unanimous`` (all alike; a disagreement stays pending).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from augment_core.errors import InputError
from augment_core.records import DecisionStatus
from augment_core.settings import AGREEMENT_KEY, MIN_RESPONSES_KEY, setting

if TYPE_CHECKING:
    from augment_core.records import Dataset, Response, Score
    from augment_core.store import Store


@dataclass(frozen=True)
class ReviewFilter:
    """What the review page (and bulk actions) select; None means no restriction."""

    augmenters: tuple[str, ...] = ()
    status: DecisionStatus | None = None
    min_similarity: float | None = None
    max_similarity: float | None = None
    valid: bool | None = None
    optimal: bool | None = None
    flag: str | None = None  # "any", "none" or one flag kind (records.FLAG_KINDS: "number", "entity", ...)
    near_duplicate: bool | None = None
    truncated: bool | None = None
    min_meaning: float | None = None  # meaning_preserved at least this (unscored never match)
    search: str | None = None  # a substring of the candidate's text, its edit or its original record (any case)
    record: str | None = None  # one record's candidates: the example's key (its id) or a candidate id
    llm_judged: bool | None = None  # has (True) or lacks (False) a verdict of the LLM judge
    llm_keeps: bool | None = None  # the LLM judge said the meaning is kept (True) or changed (False)
    min_llm_score: float | None = None  # the LLM judge's score at least this (unjudged never match)


# The bulk actions by score (`augment review --approve-valid`, ...) and by the page's filters.
SCORE_ACTIONS = ("approve-valid", "approve-optimal", "reject-invalid")
FILTER_ACTIONS = {"approve-filtered": DecisionStatus.APPROVED, "reject-filtered": DecisionStatus.REJECTED}

Plan = list[tuple[ReviewFilter, DecisionStatus]]


def accept_rule(store: Store, optimal: bool = False) -> ReviewFilter:
    """The pending candidates the scores approve, with this store's thresholds (``optimal``: the band too)."""
    # Imported here: quality pulls in numpy, which an export of approved candidates does not need.
    from augment_core.quality import meaning_cutoff, thresholds_from_store
    from augment_core.scoring import load_meaning_model

    return ReviewFilter(
        status=DecisionStatus.PENDING,
        valid=True,
        optimal=True if optimal else None,
        flag="none",
        near_duplicate=False,
        truncated=False,
        min_meaning=meaning_cutoff(thresholds_from_store(store), load_meaning_model()),
    )


def accepts(flt: ReviewFilter, score: Score) -> bool:
    """Does one scored pair pass the score part of a filter (what the store's SQL selects)?

    For pairs outside a store (`augment score-pairs`): the status, augmenter and LLM judge parts do
    not apply (the accept rule has none of them).
    """
    kinds = {f.kind for f in score.flags}
    flagged = {"any": bool(kinds), "none": not kinds}.get(flt.flag or "", flt.flag in kinds)
    checks = (
        flt.min_similarity is None or score.semantic_similarity >= flt.min_similarity,
        flt.max_similarity is None or score.semantic_similarity <= flt.max_similarity,
        flt.valid is None or score.is_valid == flt.valid,
        flt.optimal is None or score.in_optimal_band == flt.optimal,
        flt.flag is None or flagged,
        flt.near_duplicate is None or score.near_duplicate == flt.near_duplicate,
        flt.truncated is None or score.truncated == flt.truncated,
        flt.min_meaning is None or (score.meaning_preserved is not None and score.meaning_preserved >= flt.min_meaning),
    )
    return all(checks)


def bulk_plan(store: Store, action: str, current: ReviewFilter | None = None) -> Plan:
    """The (filter, decision) pairs of a bulk action; ``current`` is the page's filter for the filter-based ones."""
    if action in FILTER_ACTIONS:
        if current is None:
            raise InputError(f"bulk action '{action}' needs the review filters it applies to")
        return [(current, FILTER_ACTIONS[action])]
    if action == "reject-invalid":
        pending = ReviewFilter(status=DecisionStatus.PENDING)
        return [
            (replace(pending, valid=False), DecisionStatus.REJECTED),
            (replace(pending, near_duplicate=True), DecisionStatus.REJECTED),
        ]
    if action in ("approve-valid", "approve-optimal"):
        return [(accept_rule(store, optimal=action == "approve-optimal"), DecisionStatus.APPROVED)]
    choices = ", ".join([*SCORE_ACTIONS, *FILTER_ACTIONS])
    raise InputError(f"unknown review action '{action}'; choose one of {choices}")


def bulk_review(store: Store, dataset: Dataset, action: str, current: ReviewFilter | None = None) -> int:
    """Apply a bulk action; returns how many candidates this call changed."""
    return sum(store.bulk_decide(dataset.id, flt, status) for flt, status in bulk_plan(store, action, current))


@dataclass(frozen=True)
class ReviewRule:
    """How many responses a candidate needs and how they must agree for it to be decided."""

    min_responses: int = 1
    agreement: str = "any"  # settings.AGREEMENTS


def review_rule(store: Store) -> ReviewRule:
    """This store's review rule (settings ``review.min_responses`` and ``review.agreement``)."""
    return ReviewRule(setting(store, MIN_RESPONSES_KEY), setting(store, AGREEMENT_KEY))


def derive(rule: ReviewRule, responses: Sequence[Response]) -> tuple[DecisionStatus, str | None]:
    """The candidate's (status, edited text) from its responses under ``rule``.

    The edit is the latest one any reviewer made (one reviewer's edit survives their later Approve
    or Reject, as it always did); pending has none.
    """
    if len(responses) < max(rule.min_responses, 1):
        return DecisionStatus.PENDING, None
    ordered = sorted(responses, key=lambda r: (r.decided_at, r.reviewer))
    approved = sum(r.status == DecisionStatus.APPROVED for r in ordered)
    rejected = len(ordered) - approved
    if rule.agreement == "any":
        status = ordered[-1].status
    elif rule.agreement == "majority":
        status = DecisionStatus.APPROVED if approved > rejected else DecisionStatus.REJECTED
        if approved == rejected:
            status = DecisionStatus.PENDING
    else:  # unanimous
        status = ordered[0].status if approved in (0, len(ordered)) else DecisionStatus.PENDING
    if status is DecisionStatus.PENDING:
        return status, None
    edits = [r.edited_text for r in ordered if r.edited_text]
    return status, edits[-1] if edits else None
