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


# ---- search through its index: the same rows as the LIKE that defines it ------------------------------

SEARCHES = [
    "CROWDFUND",  # case
    "rowdfundi",  # the middle of a word
    "entrepreneur’s",  # a non-ASCII apostrophe
    "ZÜRICH", "é", "café",  # non-ASCII letters: LIKE folds ASCII only, the index all of Unicode
    'say "hi', "\\", "100%", "e.g.", "1, 2, 3", ", and",  # punctuation, JSON escapes, LIKE's wildcards
    "Please explain:", "an edited rewrite",  # candidate text, an edit
    "a", "ab", "xqzzyq",  # shorter than a trigram; a miss
]  # fmt: skip


def _fill_alpaca(store: Store) -> int:
    """alpaca_5000 with two candidates per record (one upper-cased, with odd punctuation) and some edits."""
    import json

    from augment_core.importer import import_file
    from augment_core.records import Candidate
    from tests.conftest import SHARED_DATASETS

    import_file(store, SHARED_DATASETS / "alpaca_5000.json", name="alpaca")
    dataset = store.get_dataset("alpaca")
    assert dataset is not None
    examples = [e for batch in store.iter_examples(dataset.id) for e in batch]
    made = []
    for e in examples:
        text = e.record["instruction"]
        made.append(Candidate(id=f"a{e.id}", dataset_id=dataset.id, example_id=e.id, augmenter="templates",
                              target_field="instruction", text=f"Please explain: {text}"))  # fmt: skip
        odd = f'{text.upper()} say "hi 100% \\ Zürich café' if e.position % 50 == 0 else text.upper()
        made.append(Candidate(id=f"b{e.id}", dataset_id=dataset.id, example_id=e.id, augmenter="paraphrase",
                              target_field="instruction", text=odd))  # fmt: skip
    store.add_candidates(made)
    for c in made[:400:7]:
        store.set_decision(c.id, "approved", edited_text=f"an edited rewrite of {json.dumps(c.id)}")
    return dataset.id


def _search_both_ways(store: Store, dataset_id: int, text: str) -> tuple[list[str], list[str]]:
    from augment_core.store.review_queries import review_from, review_where, search_like
    from augment_core.store.schema import candidates

    flt = ReviewFilter(search=text)
    indexed = review_where(sa.select(candidates.c.id).select_from(review_from(flt)), dataset_id, flt)
    plain = review_where(sa.select(candidates.c.id).select_from(review_from(flt)), dataset_id, ReviewFilter())
    plain = plain.where(search_like(text))
    with store.engine.connect() as conn:
        return sorted(conn.execute(indexed).scalars()), sorted(conn.execute(plain).scalars())


def _check_search_matches_like(store: Store) -> None:
    dataset_id = _fill_alpaca(store)
    for text in SEARCHES:
        indexed, plain = _search_both_ways(store, dataset_id, text)
        assert indexed == plain, text
        assert store.count_review(dataset_id, ReviewFilter(search=text)) == len(plain), text
    # The searches find something (the comparison is not of two empty lists).
    assert len(_search_both_ways(store, dataset_id, "rowdfundi")[1]) >= 2
    assert len(_search_both_ways(store, dataset_id, "entrepreneur’s")[1]) >= 2
    assert len(_search_both_ways(store, dataset_id, 'say "hi')[1]) == 100
    assert len(_search_both_ways(store, dataset_id, "an edited rewrite")[1]) == 58
    # A record changed after import, and a dataset deleted: the index follows.
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE examples SET record = :r WHERE key = (SELECT min(key) FROM examples)"),
                     {"r": '{"instruction": "Quokkas are marsupials."}'})  # fmt: skip
    assert len(_search_both_ways(store, dataset_id, "quokka")[0]) == 2
    store.delete_dataset(dataset_id)
    with store.engine.connect() as conn:
        assert store.count_review(dataset_id, ReviewFilter(search="quokka")) == 0
        if store.engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("SELECT count(*) FROM candidates_fts").scalar() == 0
            assert conn.exec_driver_sql("SELECT count(*) FROM examples_fts").scalar() == 0


def test_search_through_the_index_finds_what_like_finds_on_sqlite(store: Store) -> None:
    _check_search_matches_like(store)


def test_sqlite_search_reads_the_trigram_tables(store: Store) -> None:
    from augment_core.store.review_queries import review_from, review_where
    from augment_core.store.schema import candidates

    ids = seed(store)
    flt = ReviewFilter(search="explain what")
    query = review_where(sa.select(candidates.c.id).select_from(review_from(flt)), 1, flt)
    with store.engine.connect() as conn:
        compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
        plan = " | ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
    assert "VIRTUAL TABLE INDEX" in plan and "candidates_fts" in plan and "examples_fts" in plan, plan
    assert _ids(store, flt) == ids[:2]


@pytest.mark.slow
def test_search_through_the_index_finds_what_like_finds_on_postgresql(pg_url: str) -> None:  # noqa: F811
    store = Store(pg_url)
    try:
        with store.engine.connect() as conn:
            found = conn.execute(sa.text("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%trgm'"))
            indexes = set(found.scalars())
            assert indexes == {"ix_candidates_text_trgm", "ix_examples_record_trgm", "ix_decisions_edited_trgm"}
        _check_search_matches_like(store)
        dataset_id = _fill_alpaca(store)
        from augment_core.store.review_queries import review_from, review_where
        from augment_core.store.schema import candidates

        flt = ReviewFilter(search="rowdfundi")
        query = review_where(sa.select(candidates.c.id).select_from(review_from(flt)), dataset_id, flt)
        with store.engine.connect() as conn:
            conn.exec_driver_sql("SET enable_seqscan = off")  # a small table: show that the index can serve it
            compiled = str(query.compile(conn, compile_kwargs={"literal_binds": True})).replace("%", "%%")
            plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN {compiled}").scalars())  # %%: psycopg's escape
        assert "ix_candidates_text_trgm" in plan and "ix_examples_record_trgm" in plan, plan
    finally:
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM datasets")
        store.close()
