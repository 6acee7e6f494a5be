"""Work queues with leases, identity in the CLI, roles, progress and agreement in `augment stats`."""

from __future__ import annotations

import json

import pytest

from augment_core.review import ReviewFilter
from augment_core.store import Store
from augment_core.team import local_reviewer
from tests.test_mixing import build_dataset


def _dataset(store: Store, n: int = 4) -> int:
    return build_dataset(store, n, {"paraphrase": 1}, approve=False)


def test_two_reviewers_get_different_candidates_while_one_is_looked_at(store: Store) -> None:
    dataset_id = _dataset(store)
    first = store.next_in_queue(dataset_id, "ann")
    assert first is not None
    assert store.next_in_queue(dataset_id, "ann") == first  # a rerun shows the same one
    second = store.next_in_queue(dataset_id, "bob")
    assert second not in (None, first)
    store.set_decision(first, "approved", reviewer="ann")
    third = store.next_in_queue(dataset_id, "ann")
    assert third not in (first, second)
    # An expired lease hands the candidate to someone else.
    store.set_decision(second, "rejected", reviewer="bob")
    lapsed = store.next_in_queue(dataset_id, "bob", minutes=-1)
    assert lapsed not in (None, first, second)
    assert store.next_in_queue(dataset_id, "cy") == lapsed
    store.release(lapsed, "cy")
    assert store.next_in_queue(dataset_id, "dan", skip=[third]) == lapsed


def test_with_two_responses_asked_two_reviewers_get_the_same_candidate_and_a_third_does_not(store: Store) -> None:
    dataset_id = _dataset(store, 1)
    store.set_setting("review.min_responses", 2)
    one = store.next_in_queue(dataset_id, "ann")
    assert one is not None and store.next_in_queue(dataset_id, "bob") == one
    assert store.next_in_queue(dataset_id, "cy") is None  # two hold it already
    store.set_decision(one, "approved", reviewer="ann")
    assert store.next_in_queue(dataset_id, "ann") is None  # answered
    store.set_decision(one, "approved", reviewer="bob")
    assert store.next_in_queue(dataset_id, "cy") is None  # decided: nothing left
    assert store.get_decision(one).status == "approved"  # type: ignore[union-attr]


def test_a_majority_tie_goes_back_to_the_queue(store: Store) -> None:
    dataset_id = _dataset(store, 1)
    store.set_setting("review.min_responses", 2)
    store.set_setting("review.agreement", "majority")
    one = store.next_in_queue(dataset_id, "ann")
    assert one is not None
    store.set_decision(one, "approved", reviewer="ann")
    store.set_decision(one, "rejected", reviewer="bob")
    assert store.get_decision(one) is None
    assert store.next_in_queue(dataset_id, "cy") == one  # the tie needs a third response
    store.set_decision(one, "rejected", reviewer="cy")
    assert store.get_decision(one).status == "rejected"  # type: ignore[union-attr]


def test_bulk_review_needs_an_admin_once_reviewers_are_listed(run_cli, store: Store) -> None:  # type: ignore[no-untyped-def]
    _dataset(store)
    code, out, err = run_cli("reviewers")
    assert code == 0 and "everyone is an admin" in out
    code, out, err = run_cli("reviewers", "add", "bob", "--reviewer", "ann")
    assert code == 2 and "would leave no admin" in err
    assert run_cli("reviewers", "add", "ann", "--role", "admin", "--reviewer", "ann")[0] == 0
    assert run_cli("reviewers", "add", "bob", "--reviewer", "ann")[0] == 0
    assert store.reviewers() == {"ann": "admin", "bob": "reviewer"}
    code, out, err = run_cli("review", "--approve-valid", "--reviewer", "bob")
    assert code == 2 and "a bulk decision is for admins; reviewer 'bob' has the role 'reviewer'" in err
    code, out, err = run_cli("review", "--approve-valid", "--reviewer", "ann")
    assert code == 0, err
    code, out, err = run_cli("reviewers", "remove", "ann", "--reviewer", "ann")
    assert code == 2 and "last admin" in err
    if local_reviewer() not in ("ann", "bob"):  # the OS user is not listed: reviews only
        code, out, err = run_cli("review", "--reject-invalid")
        assert code == 2 and f"reviewer '{local_reviewer()}'" in err


def test_stats_report_each_reviewer_and_the_agreement(run_cli, store: Store) -> None:  # type: ignore[no-untyped-def]
    dataset_id = _dataset(store)
    ids = [r.candidate.id for r in store.review_page(dataset_id, ReviewFilter())]
    answers = [("approved", "approved"), ("rejected", "rejected"), ("approved", "rejected")]
    for cid, (a, b) in zip(ids[:3], answers, strict=True):
        store.set_decision(cid, a, reviewer="ann")
        store.set_decision(cid, b, reviewer="bob")
    code, out, err = run_cli("stats", "--json")
    assert code == 0, err
    review = json.loads(out)["review"]
    assert review["rule"] == {"min_responses": 1, "agreement": "any"}
    assert review["responses_by_reviewer"] == {"ann": 3, "bob": 3}
    assert (review["decided"], review["reviewable"]) == (3, 4)
    team = review["agreement"]
    assert team["units"] == 3 and team["conflicts"] == [ids[2]]
    assert team["pairs"][0]["kappa"] == pytest.approx(0.4)  # po 2/3, pe 5/9
    code, out, err = run_cli("stats")
    assert "ann" in out and "kappa ann / bob: 0.400 on 3 shared" in out
