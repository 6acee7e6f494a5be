"""The review page's core tools on a real SQLite store: search, jump to a record, sort by meaning,
bulk preview, apply and undo (every earlier decision back exactly), and an edit rescored."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from augment_core.edits import save_edit
from augment_core.records import DecisionStatus
from augment_core.review import ReviewFilter, bulk_plan
from augment_core.store import Store, scores
from augment_core.store.schema import decisions, responses
from tests.test_pages import seed
from tests.test_postgres import pg_url  # noqa: F401  (the PostgreSQL server fixture)


def _ids(store: Store, flt: ReviewFilter, sort: str = "file order") -> list[str]:
    dataset = store.get_dataset("sample")
    assert dataset is not None
    return [r.candidate.id for r in store.review_page(dataset.id, flt, sort, limit=100)]


def test_search_finds_candidate_text_edits_and_the_original_record(store: Store) -> None:
    ids = seed(store)
    # The candidate's own text, in any case.
    assert _ids(store, ReviewFilter(search="PLEASE, EXPLAIN what")) == ids[:2]
    # The original record: its output, which no candidate rewrote.
    assert _ids(store, ReviewFilter(search="[0, 2, 4, 6, 8]")) == ids[:2]
    # Quotes and backslashes of the data are escaped in the stored JSON: still found as typed.
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE examples SET record = json_set(record, '$.output', ?) WHERE key = 'sample-003'",
                             ('say "100%_ off" \\ now',))  # fmt: skip
    assert _ids(store, ReviewFilter(search='"100%_ off" \\')) == ids[4:6]
    # % and _ are literal characters, not wildcards.
    assert _ids(store, ReviewFilter(search="100%_")) == ids[4:6]
    assert _ids(store, ReviewFilter(search="1_0")) == []
    # An edit is searched too.
    store.set_decision(ids[10], "approved", edited_text="A zebra-striped rewrite.")
    assert _ids(store, ReviewFilter(search="zebra-striped")) == [ids[10]]
    # With other filters, counted the same way.
    dataset = store.get_dataset("sample")
    assert dataset is not None
    flt = ReviewFilter(search="please", augmenters=("paraphrase",), status=DecisionStatus.PENDING)
    assert store.count_review(dataset.id, flt) == 24


def test_jump_to_a_record_by_its_id_or_a_candidate_id(store: Store) -> None:
    ids = seed(store)
    assert _ids(store, ReviewFilter(record="sample-002")) == ids[2:4]
    assert _ids(store, ReviewFilter(record=ids[7])) == [ids[7]]
    assert _ids(store, ReviewFilter(record="no-such-record")) == []


def test_sort_by_meaning_puts_unscored_verdicts_last(store: Store) -> None:
    ids = seed(store)
    with store.engine.begin() as conn:
        conn.execute(sa.update(scores).where(scores.c.candidate_id == ids[5]).values(meaning_preserved=0.1))
        conn.execute(sa.update(scores).where(scores.c.candidate_id == ids[6]).values(meaning_preserved=None))
        conn.execute(sa.update(scores).where(scores.c.candidate_id == ids[7]).values(meaning_preserved=0.99))
    low = _ids(store, ReviewFilter(), "meaning, low first")
    high = _ids(store, ReviewFilter(), "meaning, high first")
    assert low[0] == ids[5] and low[-1] == ids[6]
    assert high[0] == ids[7] and high[-1] == ids[6]


def _snapshot(store: Store) -> tuple[set[tuple[object, ...]], set[tuple[object, ...]]]:
    with store.engine.connect() as conn:
        rows = {table.name: {tuple(r) for r in conn.execute(sa.select(table))} for table in (decisions, responses)}
    return rows["decisions"], rows["responses"]


def test_bulk_preview_lists_exactly_what_changes_and_undo_restores_every_decision(store: Store) -> None:
    ids = seed(store)
    dataset = store.get_dataset("sample")
    assert dataset is not None
    # Earlier decisions of every kind: approved by two reviewers, approved with an edit, one already rejected.
    store.set_decision(ids[0], "approved", reviewer="ana")
    store.set_decision(ids[0], "approved", reviewer="bo")
    store.set_decision(ids[1], "approved", edited_text="An edit kept by the bulk action.", reviewer="ana")
    store.set_decision(ids[2], "approved")
    store.set_decision(ids[3], "rejected")
    before = _snapshot(store)
    plan = bulk_plan(store, "reject-filtered", ReviewFilter())
    count, rows = store.bulk_preview(dataset.id, plan, limit=5)
    assert count == 47  # 48 candidates, one already rejected
    assert [r.candidate.id for r in rows] == [ids[0], ids[1], ids[2], ids[4], ids[5]]

    change = store.apply_bulk(dataset.id, plan)
    assert change.count == 47 and store.dataset_counts(dataset.id).decisions.rejected == 48
    assert store.get_decision(ids[1]).edited_text == "An edit kept by the bulk action."  # type: ignore[union-attr]
    assert store.bulk_preview(dataset.id, plan)[0] == 0

    result = store.undo_bulk(change)
    assert (result.restored, result.kept) == (47, 0)
    assert _snapshot(store) == before  # every row as it was: status, edit, time, responses


def test_undo_leaves_a_candidate_decided_again_since(store: Store) -> None:
    ids = seed(store)
    dataset = store.get_dataset("sample")
    assert dataset is not None
    change = store.apply_bulk(dataset.id, bulk_plan(store, "approve-filtered", ReviewFilter()))
    store.set_decision(ids[3], "rejected", reviewer="ana")  # a reviewer, after the bulk action
    result = store.undo_bulk(change)
    assert (result.restored, result.kept) == (47, 1)
    assert store.get_decision(ids[3]).status == "rejected"  # type: ignore[union-attr]
    assert store.dataset_counts(dataset.id).decisions.approved == 0


def test_bulk_decide_counts_what_it_changed(store: Store) -> None:
    seed(store)
    dataset = store.get_dataset("sample")
    assert dataset is not None
    assert store.bulk_decide(dataset.id, ReviewFilter(augmenters=("templates",)), "approved") == 24
    assert store.bulk_decide(dataset.id, ReviewFilter(), "approved") == 24
    assert store.bulk_decide(dataset.id, ReviewFilter(), "pending") == 48


def test_an_edit_is_rescored_on_the_edited_text(store: Store) -> None:
    from augment_core.quality import Embedder

    ids = seed(store)
    first = store.get_score(ids[0])
    assert first is not None
    save_edit(store, ids[0], "Explain what a Python list comprehension is, with an example.", "ana", Embedder.load())
    again = store.get_score(ids[0])
    assert again is not None and again.semantic_similarity != first.semantic_similarity
    assert again.semantic_similarity > 0.8 and again.meaning_preserved is not None
    assert store.get_decision(ids[0]).edited_text.endswith("with an example.")  # type: ignore[union-attr]


def test_a_candidate_is_found_at_its_place_in_any_sort(store: Store) -> None:
    ids = seed(store)
    dataset = store.get_dataset("sample")
    assert dataset is not None
    for sort in ("file order", "similarity, high first", "meaning, low first"):
        listed = _ids(store, ReviewFilter(), sort)
        assert store.review_position(dataset.id, ReviewFilter(), sort, listed[37]) == 37
    assert store.review_position(dataset.id, ReviewFilter(augmenters=("templates",)), "file order", ids[1]) is None


@pytest.mark.slow
def test_the_same_on_postgresql(pg_url: str) -> None:  # noqa: F811
    store = Store(pg_url)
    try:
        ids = seed(store)
        dataset = store.get_dataset("sample")
        assert dataset is not None
        assert _ids(store, ReviewFilter(search="[0, 2, 4, 6, 8]")) == ids[:2]  # JSON cast to text, any case
        assert _ids(store, ReviewFilter(search="PLEASE, EXPLAIN WHAT")) == ids[:2]
        assert _ids(store, ReviewFilter(search="100%")) == []
        assert _ids(store, ReviewFilter(record="sample-002")) == ids[2:4]
        listed = _ids(store, ReviewFilter(), "meaning, high first")
        assert store.review_position(dataset.id, ReviewFilter(), "meaning, high first", listed[30]) == 30
        store.set_decision(ids[0], "approved", edited_text="Kept.", reviewer="ana")
        store.set_decision(ids[1], "rejected", reviewer="bo")
        before = _snapshot(store)
        plan = bulk_plan(store, "approve-filtered", ReviewFilter())
        assert store.bulk_preview(dataset.id, plan)[0] == 47
        change = store.apply_bulk(dataset.id, plan)
        assert change.count == 47 and store.dataset_counts(dataset.id).decisions.approved == 48
        assert store.undo_bulk(change).restored == 47
        assert _snapshot(store) == before
    finally:
        store.close()
