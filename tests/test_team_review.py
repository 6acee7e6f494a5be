"""Review as a team: each reviewer's response kept, the candidate's status derived by the review rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from augment_core.errors import InputError
from augment_core.export import ExportOptions, export_dataset
from augment_core.records import DecisionStatus, Response
from augment_core.review import ReviewFilter, ReviewRule, derive, review_rule
from augment_core.settings import change_setting
from augment_core.store import Store
from tests.test_mixing import build_dataset, cid

A, R, P = DecisionStatus.APPROVED, DecisionStatus.REJECTED, DecisionStatus.PENDING


def _r(reviewer: str, status: DecisionStatus, at: str, edit: str | None = None) -> Response:
    return Response("c", reviewer, status, edit, at)


@pytest.mark.parametrize(
    ("rule", "statuses", "expected"),
    [
        (ReviewRule(), [], P),
        (ReviewRule(), [A], A),
        (ReviewRule(), [A, R], R),  # any: the latest response, as one reviewer always had
        (ReviewRule(min_responses=2), [A], P),
        (ReviewRule(min_responses=2), [A, R], R),
        (ReviewRule(agreement="majority"), [A, R], P),  # a tie
        (ReviewRule(agreement="majority"), [A, R, A], A),
        (ReviewRule(agreement="majority"), [R, R, A], R),
        (ReviewRule(agreement="unanimous"), [A, A], A),
        (ReviewRule(agreement="unanimous"), [A, A, R], P),
        (ReviewRule(min_responses=3, agreement="unanimous"), [R, R], P),
        (ReviewRule(min_responses=3, agreement="unanimous"), [R, R, R], R),
    ],
)
def test_the_rule_derives_the_status(rule: ReviewRule, statuses: list[DecisionStatus], expected: str) -> None:
    responses = [_r(f"rev{i}", s, f"2026-01-01T00:00:0{i}") for i, s in enumerate(statuses)]
    assert derive(rule, responses)[0] == expected


def test_the_latest_edit_is_the_decision_s_text() -> None:
    responses = [_r("a", A, "t1", "first edit"), _r("b", A, "t3"), _r("c", R, "t2", "second edit")]
    assert derive(ReviewRule(agreement="majority"), responses) == (A, "second edit")
    assert derive(ReviewRule(agreement="unanimous"), responses) == (P, None)


def test_rule_settings_are_checked(store: Store) -> None:
    assert review_rule(store) == ReviewRule(1, "any")
    change_setting(store, "review.min_responses", "2")
    change_setting(store, "review.agreement", "majority")
    with pytest.raises(InputError, match="review.agreement = \"most\": expected one of any, majority, unanimous"):
        change_setting(store, "review.agreement", "most")
    with pytest.raises(InputError, match="at least 1"):
        change_setting(store, "review.min_responses", "0")
    assert (store.get_setting("review.min_responses"), store.get_setting("review.agreement")) == (2, "majority")


def test_each_reviewer_s_response_is_kept_and_the_status_follows_the_rule(store: Store) -> None:
    dataset_id = build_dataset(store, 2, {"paraphrase": 1}, approve=False)
    one, two = cid("hand", 1, "paraphrase", 0), cid("hand", 2, "paraphrase", 0)
    store.set_setting("review.min_responses", 2)
    store.set_setting("review.agreement", "unanimous")
    assert store.set_decision(one, "approved", reviewer="ann").status == P  # one response of two
    assert store.get_decision(one) is None
    assert store.count_review(dataset_id, ReviewFilter(status=P)) == 2
    assert store.set_decision(one, "approved", reviewer="bob", edited_text="Bob's words").status == A
    decision = store.get_decision(one)
    assert decision is not None and (decision.status, decision.edited_text) == (A, "Bob's words")
    store.set_decision(two, "approved", reviewer="ann")
    store.set_decision(two, "rejected", reviewer="bob")
    assert store.get_decision(two) is None  # they disagree: the candidate stays for a third look
    assert [(r.reviewer, r.status) for r in store.get_responses(two)] == [("ann", A), ("bob", R)]
    assert store.clear_decision(one, reviewer="bob").status == P  # bob withdraws: one response left
    assert [r.reviewer for r in store.get_responses(one)] == ["ann"]
    store.set_decision(one, "approved", reviewer="bob")
    assert store.responses_by_reviewer(dataset_id) == {"ann": 2, "bob": 2}
    assert store.responses_by_reviewer(dataset_id, "ann") == {"ann": 2}
    store.clear_decision(one)  # back to pending for everyone
    assert store.get_responses(one) == [] and store.get_decision(one) is None


def test_one_reviewer_without_settings_sees_today_s_behaviour(store: Store) -> None:
    build_dataset(store, 1, {"paraphrase": 1}, approve=False)
    one = cid("hand", 1, "paraphrase", 0)
    assert store.set_decision(one, "approved").status == A
    assert store.set_decision(one, "rejected", reviewer="someone else").status == R  # the latest wins
    assert [r.reviewer for r in store.get_responses(one)] == ["local", "someone else"]
    with pytest.raises(InputError, match="no candidate 'nope'"):
        store.set_decision("nope", "approved")
    with pytest.raises(InputError, match="reviewer's name"):
        store.set_decision(one, "approved", reviewer="  ")


def test_bulk_back_to_pending_removes_the_responses_too(store: Store) -> None:
    dataset_id = build_dataset(store, 1, {"paraphrase": 1}, approve=False)
    one = cid("hand", 1, "paraphrase", 0)
    store.set_decision(one, "rejected", reviewer="ann")
    assert store.bulk_decide(dataset_id, ReviewFilter(), "pending") == 1
    assert store.get_responses(one) == []
    store.set_decision(one, "approved", reviewer="bob")
    assert store.get_decision(one).status == A  # type: ignore[union-attr]


def test_the_export_s_provenance_carries_every_response(store: Store, tmp_path: Path) -> None:
    build_dataset(store, 1, {"paraphrase": 1}, approve=False)
    one = cid("hand", 1, "paraphrase", 0)
    store.set_setting("review.agreement", "majority")
    for reviewer, status in [("ann", "approved"), ("bob", "rejected"), ("cy", "approved")]:
        store.set_decision(one, status, reviewer=reviewer)
    dataset = store.get_dataset("hand")
    assert dataset is not None
    export_dataset(store, dataset, ExportOptions(provenance=True), tmp_path / "out.jsonl")
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    meta = next(r["metadata"] for r in records if r["metadata"]["candidate_id"] == one)
    assert meta["decision"] == "approved"  # the rule's result
    assert [(r["reviewer"], r["status"]) for r in meta["responses"]] == [
        ("ann", "approved"), ("bob", "rejected"), ("cy", "approved"),
    ]  # fmt: skip
    assert all(r["decided_at"] for r in meta["responses"])
