"""The review rules (augment_core.review): one accept rule for review, bulk actions and the export."""

from __future__ import annotations

from typing import Any

import pytest

from augment_core import scoring
from augment_core.errors import InputError
from augment_core.records import DecisionStatus
from augment_core.review import ReviewFilter, accept_rule, bulk_plan
from augment_core.settings import MEANING_THRESHOLD_KEY


def test_review_rules_leave_doubtful_candidates_to_a_human(store: Any) -> None:
    model = scoring.load_meaning_model()
    assert model is not None
    [(approve, status)] = bulk_plan(store, "approve-valid")
    assert status == DecisionStatus.APPROVED and approve.status == DecisionStatus.PENDING and approve.valid is True
    assert (approve.flag, approve.near_duplicate, approve.truncated) == ("none", False, False)
    assert approve.min_meaning == model.threshold and approve.optimal is None
    assert approve == accept_rule(store)  # review --approve-valid and export --status valid: one rule
    store.set_setting(MEANING_THRESHOLD_KEY, 0.4)
    [(optimal, _)] = bulk_plan(store, "approve-optimal")
    assert optimal.optimal is True and optimal.min_meaning == 0.4  # the setting wins over the fitted cut-off
    rejects = bulk_plan(store, "reject-invalid")
    assert [(f.valid, f.near_duplicate, s) for f, s in rejects] == [(False, None, "rejected"), (None, True, "rejected")]
    with pytest.raises(InputError, match="unknown review action"):
        bulk_plan(store, "approve-all")


def test_filter_actions_apply_the_pages_filter(store: Any) -> None:
    page = ReviewFilter(augmenters=("templates",), status=DecisionStatus.PENDING)
    assert bulk_plan(store, "reject-filtered", page) == [(page, DecisionStatus.REJECTED)]
    with pytest.raises(InputError, match="needs the review filters"):
        bulk_plan(store, "approve-filtered")
