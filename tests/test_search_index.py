"""The review search through its index (store/search_index.py): always the rows of the LIKE that
defines it, whatever the index holds: nothing yet, part, all, rows added or deleted after it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from augment_core.importer import import_file
from augment_core.records import Candidate, CandidateStatus
from augment_core.review import ReviewFilter
from augment_core.store import Refreshed, Store
from augment_core.store.review_queries import review_from, review_where, search_like
from augment_core.store.schema import candidates
from tests.conftest import SHARED_DATASETS
from tests.test_postgres import pg_url  # noqa: F401  (the PostgreSQL server fixture)

SEARCHES = [
    "CROWDFUND",  # case
    "rowdfundi",  # the middle of a word
    "entrepreneur’s",  # a non-ASCII apostrophe
    "ZÜRICH",
    "é",
    "café",  # non-ASCII letters: LIKE folds ASCII only, the index all of Unicode
    'say "hi',
    "\\",
    "100%",
    "e.g.",
    "1, 2, 3",
    ", and",
    "1_0",
    "%_",  # JSON escapes, LIKE's wildcards
    "Please explain:",
    "an edited rewrite",
    'EDITED REWRITE OF "b',  # candidate text, an edit
    "a",
    "ab",
    "xqzzyq",  # shorter than a trigram; a miss
    "the the",  # trigrams in many rows, together in few
    "quokka",
    "wombat",
    "numbat",
    "wombatland",
    "numbatland",  # rows added after the index was made (below)
]


def _candidates(dataset_id: int, examples: list[tuple[int, dict[str, str]]], tag: str) -> list[Candidate]:
    """Two per example: one plain, one upper-cased (every 50th with odd punctuation)."""
    made = []
    for n, (example_id, record) in enumerate(examples):
        text = record["instruction"]
        made.append(
            Candidate(
                id=f"{tag}a{example_id}",
                dataset_id=dataset_id,
                example_id=example_id,
                augmenter="templates",
                target_field="instruction",
                text=f"Please explain: {text}",
            )
        )
        odd = f'{text.upper()} say "hi 100% \\ Zürich café' if n % 50 == 0 else text.upper()
        made.append(
            Candidate(
                id=f"{tag}b{example_id}",
                dataset_id=dataset_id,
                example_id=example_id,
                augmenter="paraphrase",
                target_field="instruction",
                text=odd,
            )
        )
    return made


def _import(store: Store, path: Path, name: str) -> tuple[int, list[tuple[int, dict[str, str]]]]:
    import_file(store, path, name=name)
    dataset = store.get_dataset(name)
    assert dataset is not None
    return dataset.id, [(e.id, e.record) for batch in store.iter_examples(dataset.id) for e in batch]


def _fill_alpaca(store: Store) -> int:
    """alpaca_5000 with two candidates per record and some edits."""
    dataset_id, examples = _import(store, SHARED_DATASETS / "alpaca_5000.json", "alpaca")
    made = _candidates(dataset_id, examples, "")
    store.add_candidates(made)
    for c in made[:400:7]:
        store.set_decision(c.id, "approved", edited_text=f"an edited rewrite of {json.dumps(c.id)}")
    return dataset_id


def _search_both_ways(store: Store, dataset_id: int, text: str) -> tuple[list[str], list[str]]:
    flt = ReviewFilter(search=text)
    searched = review_where(sa.select(candidates.c.id).select_from(review_from(flt)), dataset_id, flt)
    plain = review_where(sa.select(candidates.c.id).select_from(review_from(flt)), dataset_id, ReviewFilter())
    plain = plain.where(search_like(text))
    with store.engine.connect() as conn:
        return sorted(conn.execute(searched).scalars()), sorted(conn.execute(plain).scalars())


def _check(store: Store, *dataset_ids: int) -> None:
    """Every search of SEARCHES finds LIKE's rows, listed and counted."""
    for dataset_id in dataset_ids:
        for text in SEARCHES:
            searched, plain = _search_both_ways(store, dataset_id, text)
            assert searched == plain, (dataset_id, text)
            assert store.count_review(dataset_id, ReviewFilter(search=text)) == len(plain), text


def _found(store: Store, dataset_id: int, text: str) -> int:
    searched, plain = _search_both_ways(store, dataset_id, text)
    assert searched == plain, text
    return len(plain)


def _fts_rows(store: Store) -> tuple[int, int]:
    with store.engine.connect() as conn:
        return (
            conn.exec_driver_sql("SELECT count(*) FROM candidates_fts").scalar_one(),
            conn.exec_driver_sql("SELECT count(*) FROM examples_fts").scalar_one(),
        )


def _top_rowid(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT max(rowid) FROM candidates").scalar_one())


def _plan(store: Store, dataset_id: int, text: str) -> str:
    flt = ReviewFilter(search=text)
    query = review_where(sa.select(candidates.c.id).select_from(review_from(flt)), dataset_id, flt)
    with store.engine.connect() as conn:
        compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
        return " | ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))


def _write_jsonl(path: Path, word: str, n: int) -> Path:
    path.write_text(
        "".join(
            json.dumps(
                {"instruction": f"Describe the {word} number {i}.", "input": "", "output": f"From {word.upper()}LAND."}
            )
            + "\n"
            for i in range(n)
        )
    )
    return path


def test_the_index_finds_what_like_finds_before_during_and_after_its_catch_up(store: Store, tmp_path: Path) -> None:
    dataset_id = _fill_alpaca(store)
    _check(store, dataset_id)  # nothing indexed: every row is after the marks
    assert store.refresh_search_index(chunk=3000, steps=1) == Refreshed(candidates=3000, examples=3000)
    _check(store, dataset_id)  # part indexed
    assert store.refresh_search_index(chunk=3000) == Refreshed(candidates=7000, examples=2000)
    assert store.refresh_search_index() == Refreshed()  # caught up: nothing to do
    assert _fts_rows(store) == (10_000, 5_000)
    _check(store, dataset_id)
    plan = _plan(store, dataset_id, "rowdfundi")
    assert "candidates_fts VIRTUAL TABLE INDEX" in plan and "examples_fts VIRTUAL TABLE INDEX" in plan, plan
    # The searches find something (the comparison is not of two empty lists).
    assert _found(store, dataset_id, "rowdfundi") >= 2
    assert _found(store, dataset_id, "entrepreneur’s") >= 2
    assert _found(store, dataset_id, 'say "hi') == 100
    assert _found(store, dataset_id, "ZÜRICH") == 0 and _found(store, dataset_id, "Zürich") == 100  # LIKE's case
    assert _found(store, dataset_id, "an edited rewrite") == 58

    # After the index: an edit, candidates and a dataset stored since.
    first = store.review_page(dataset_id, ReviewFilter(), limit=1)[0].candidate.id
    store.set_decision(first, "approved", edited_text="A quokka rewrite.")
    store.add_candidates(
        [
            Candidate(
                id="late",
                dataset_id=dataset_id,
                example_id=None,
                augmenter="refusal",
                target_field="instruction",
                text="A numbat.",
            )
        ]
    )
    other_id, other = _import(store, _write_jsonl(tmp_path / "w.jsonl", "wombat", 300), "wombats")
    store.add_candidates(_candidates(other_id, other, "w"))
    _check(store, dataset_id, other_id)
    assert _found(store, dataset_id, "quokka") == 1 and _found(store, dataset_id, "numbat") == 1
    assert _found(store, other_id, "wombat") == 600 and _found(store, other_id, "wombatland") == 600
    assert store.refresh_search_index() == Refreshed(candidates=601, examples=300)
    _check(store, dataset_id, other_id)
    assert _found(store, other_id, "wombatland") == 600
    top_candidate = _top_rowid(store)

    # The newest dataset deleted and another imported: its rows take the deleted rows' rowids.
    store.delete_dataset(other_id)
    numbats_id, numbats = _import(store, _write_jsonl(tmp_path / "n.jsonl", "numbat", 200), "numbats")
    assert numbats[0][0] == other[0][0]  # the same ids again
    store.add_candidates(_candidates(numbats_id, numbats, "n"))
    assert _top_rowid(store) < top_candidate  # and their candidates some of the deleted candidates' rowids
    _check(store, dataset_id, numbats_id)
    assert _found(store, numbats_id, "numbatland") == 400 and _found(store, numbats_id, "wombat") == 0
    store.refresh_search_index()
    _check(store, dataset_id, numbats_id)
    assert _fts_rows(store) == (10_001 + 400, 5_000 + 200)  # the deleted rows' entries are gone
    # A dataset deleted in the middle: its entries go too.
    store.delete_dataset(dataset_id)
    store.refresh_search_index()
    assert _fts_rows(store) == (400, 200)
    _check(store, numbats_id)


def test_failed_candidates_replaced_after_the_index_are_found(store: Store) -> None:
    dataset_id = _fill_alpaca(store)
    dataset_examples = [e for batch in store.iter_examples(dataset_id) for e in batch][:20]
    failed = [
        Candidate(
            id=f"f{e.id}",
            dataset_id=dataset_id,
            example_id=e.id,
            augmenter="paraphrase",
            target_field="instruction",
            text="",
            status=CandidateStatus.FAILED,
            error="timeout",
        )
        for e in dataset_examples
    ]
    store.add_candidates(failed)
    store.refresh_search_index()
    assert _fts_rows(store)[0] == 10_000  # failures are not indexed
    # A retry: the failures go, their results take the rowids they had.
    store.delete_failed_candidates([c.id for c in failed])
    store.add_candidates(
        [
            Candidate(
                id=f"f{e.id}",
                dataset_id=dataset_id,
                example_id=e.id,
                augmenter="paraphrase",
                target_field="instruction",
                text=f"A quokka, {e.id}.",
            )
            for e in dataset_examples
        ]
    )
    assert _found(store, dataset_id, "quokka") == 20
    store.refresh_search_index()
    assert _found(store, dataset_id, "quokka") == 20
    _check(store, dataset_id)


def test_candidates_renumbered_are_all_searched_until_the_index_is_made_again(store: Store) -> None:
    dataset_id = _fill_alpaca(store)
    store.refresh_search_index()
    # As a table rebuilt by a migration might: every candidate gets another rowid.
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE candidates SET rowid = rowid + 100000")
        conn.exec_driver_sql("UPDATE candidates SET rowid = 110001 - rowid")  # the same rowids, in reverse
    _check(store, dataset_id)
    assert store.refresh_search_index() == Refreshed(candidates=10_000, examples=5_000)
    _check(store, dataset_id)


def test_refresh_soon_catches_up_in_the_background(store: Store) -> None:
    from augment_core.store import search_index

    dataset_id = _fill_alpaca(store)
    assert search_index.behind(store.db)
    version = store.version()
    assert store.refresh_search_index_soon()
    search_index._running[store.db.url].join(60)
    assert not search_index.behind(store.db) and not store.refresh_search_index_soon()
    assert store.version() == version  # the results did not change: nothing cached by the version goes stale
    assert _fts_rows(store) == (10_000, 5_000)
    _check(store, dataset_id)


def _postgres_plan(store: Store, dataset_id: int, text: str) -> str:
    """The search's plan with sequential scans priced out: which indexes can serve it (a small table
    is scanned otherwise, whatever its indexes)."""
    flt = ReviewFilter(search=text)
    query = review_where(sa.select(candidates.c.id).select_from(review_from(flt)), dataset_id, flt)
    with store.engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
        return "\n".join(str(row[0]) for row in conn.exec_driver_sql(f"EXPLAIN {compiled}"))


@pytest.mark.slow
def test_the_same_on_postgresql_through_pg_trgm_indexes(pg_url: str) -> None:  # noqa: F811
    store = Store(pg_url)
    try:
        dataset_id = _fill_alpaca(store)
        assert store.refresh_search_index() == Refreshed() and not store.refresh_search_index_soon()
        _check(store, dataset_id)
        assert _found(store, dataset_id, 'say "hi') == 100
        plan = _postgres_plan(store, dataset_id, "photosynthesis")
        assert "ix_candidates_text_trgm" in plan and "ix_examples_record_trgm" in plan, plan
        store.delete_dataset(dataset_id)
    finally:
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM datasets")
        store.close()


@pytest.mark.slow
def test_postgresql_without_the_right_to_create_pg_trgm_searches_by_scanning(
    pg_url: str, caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    # A team's database where the store's role owns its schema but may not create extensions.
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("CREATE ROLE plain LOGIN")
        conn.exec_driver_sql("CREATE DATABASE plain_db")
    admin.dispose()
    admin = sa.create_engine(pg_url.rsplit("/", 1)[0] + "/plain_db", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("CREATE SCHEMA store AUTHORIZATION plain")
    admin.dispose()
    url = pg_url.replace("postgres@", "plain@").rsplit("/", 1)[0] + "/plain_db?options=-csearch_path%3Dstore"
    with caplog.at_level("WARNING", logger="augment_core.store.search_index"):
        store = Store(url)
    try:
        assert "pg_trgm could not be created" in caplog.text
        with store.engine.connect() as conn:
            indexes = conn.exec_driver_sql("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%trgm'").all()
        assert indexes == []
        dataset_id, examples = _import(store, SHARED_DATASETS / "alpaca_5000.json", "alpaca")
        store.add_candidates(_candidates(dataset_id, examples[:500], ""))
        assert _found(store, dataset_id, "the") > 0
    finally:
        store.close()
