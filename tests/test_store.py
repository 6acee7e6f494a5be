"""The store on SQLite in a temp dir: schema, WAL, foreign keys, decisions, settings, resume."""

from __future__ import annotations

import sqlalchemy as sa

from augment_core.records import Candidate, Flag, Score
from augment_core.store import DecisionCounts, Store


def _dataset(store: Store, name: str = "d") -> int:
    with store.transaction() as conn:
        dataset_id = store.create_dataset(conn, name, "alpaca", "x.jsonl", "jsonl", {})
        store.add_examples(
            conn,
            dataset_id,
            [(1, "a", {"instruction": "Hi", "output": "Hello"}), (2, "b", {"instruction": "Bye", "output": "Ciao"})],
        )
    return dataset_id


def test_sqlite_runs_in_wal_with_foreign_keys(store: Store) -> None:
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_transaction_rolls_back_everything(store: Store) -> None:
    try:
        with store.transaction() as conn:
            dataset_id = store.create_dataset(conn, "gone", "alpaca", "x", "jsonl", {})
            store.add_examples(conn, dataset_id, [(1, "a", {"instruction": "x", "output": "y"})])
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert store.dataset_names() == []


def test_candidates_resume_without_duplicates_and_decisions_commit(store: Store, db_url: str) -> None:
    dataset_id = _dataset(store)
    example = next(store.iter_examples(dataset_id))[0]
    cands = [
        Candidate(
            id=f"c{i}",
            dataset_id=dataset_id,
            example_id=example.id,
            augmenter="templates",
            target_field="instruction",
            text=f"Please say hi {i}",
        )
        for i in range(3)
    ]
    assert store.add_candidates(cands) == 3
    assert store.add_candidates(cands) == 0  # a rerun adds nothing twice
    groups = list(store.iter_unscored_groups(dataset_id))
    assert [[(c.id, scored) for c, scored in group] for group in groups] == [
        [("c0", False), ("c1", False), ("c2", False)]
    ]
    store.save_scores(
        [
            Score(
                candidate_id="c0",
                semantic_similarity=0.9,
                is_valid=True,
                in_optimal_band=True,
                length_ratio=1.2,
                unique_words=1,
                flags=[Flag("number", "3", "missing")],
            )
        ]
    )
    assert store.count_unscored_candidates(dataset_id) == 2
    assert store.get_score("c0") == Score(
        candidate_id="c0",
        semantic_similarity=0.9,
        is_valid=True,
        in_optimal_band=True,
        length_ratio=1.2,
        unique_words=1,
        flags=[Flag("number", "3", "missing")],
    )

    store.set_decision("c1", "approved")
    store.set_decision("c2", "approved", edited_text="Please say hello")
    store.set_decision("c2", "rejected")
    # a second connection (another tab, a restarted server) sees every decision at once
    other = Store(db_url)
    assert other.get_decision("c1").status == "approved"  # type: ignore[union-attr]
    assert other.get_decision("c2").status == "rejected"  # type: ignore[union-attr]
    counts = other.dataset_counts(dataset_id)
    assert counts.decisions == DecisionCounts(approved=1, rejected=1, pending=1)
    assert counts.by_augmenter == {"templates": {"ok": 3, "failed": 0}}
    other.close()


def test_deleting_a_dataset_cascades(store: Store) -> None:
    dataset_id = _dataset(store)
    example = next(store.iter_examples(dataset_id))[0]
    store.add_candidates(
        [
            Candidate(
                id="c",
                dataset_id=dataset_id,
                example_id=example.id,
                augmenter="t",
                target_field="instruction",
                text="x",
            )
        ]
    )
    store.set_decision("c", "approved")
    store.delete_dataset(dataset_id)
    with store.engine.connect() as conn:
        for table in ("examples", "candidates", "decisions"):
            assert conn.execute(sa.text(f"select count(*) from {table}")).scalar() == 0


def test_settings_and_cache(store: Store) -> None:
    assert store.get_setting("window", [0.7, 0.98]) == [0.7, 0.98]
    store.set_setting("window", [0.6, 0.9])
    assert store.get_setting("window") == [0.6, 0.9]
    store.cache_put("k", "openai", "m", {"text": "hi"})
    store.cache_put("k", "openai", "m", {"text": "other"})  # first answer wins
    assert store.cache_get("k") == {"text": "hi"}
    assert store.cache_get("missing") is None


def _candidates(store: Store, n: int = 3, name: str = "d") -> tuple[int, list[str]]:
    dataset_id = _dataset(store, name)
    example = next(store.iter_examples(dataset_id))[0]
    ids = [f"{name}{i}" for i in range(n)]
    store.add_candidates(
        [
            Candidate(
                id=i,
                dataset_id=dataset_id,
                example_id=example.id,
                augmenter="t",
                target_field="instruction",
                text=f"text {i}",
            )
            for i in ids
        ]
    )
    return dataset_id, ids


def test_a_decision_keeps_an_earlier_edit_unless_a_new_one_is_given(store: Store) -> None:
    _, (cid, _, _) = _candidates(store)
    store.set_decision(cid, "approved", edited_text="Edited once")
    assert store.set_decision(cid, "approved").edited_text == "Edited once"  # the Approve button / A key
    store.set_decision(cid, "rejected")
    decision = store.get_decision(cid)
    assert decision is not None and (decision.status, decision.edited_text) == ("rejected", "Edited once")
    store.set_decision(cid, "approved", edited_text="Edited twice")
    assert store.get_decision(cid).edited_text == "Edited twice"  # type: ignore[union-attr]
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from decisions")).scalar() == 1


def test_decisions_and_settings_are_upserts_not_delete_then_insert(store: Store) -> None:
    # A delete-then-insert leaves a window where two writers both insert the same key; an upsert has none.
    # Watch the statements: each write is one INSERT ... ON CONFLICT DO UPDATE and no DELETE.
    _, (cid, _, _) = _candidates(store)
    seen: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *a: seen.append(a[2].split()[0].upper()))
    store.set_decision(cid, "approved")
    store.set_decision(cid, "rejected")
    store.set_setting("window", [0.6, 0.9])
    store.set_setting("window", [0.5, 0.9])
    # Each decision: its response and the derived status; each of the 4 transactions: the store's version.
    assert "DELETE" not in seen and seen.count("INSERT") == 6 + 4
    assert store.get_setting("window") == [0.5, 0.9]


def test_bulk_decide_changes_only_what_differs_and_keeps_edits(store: Store) -> None:
    from augment_core.review import ReviewFilter

    dataset_id, (edited, kept, fresh) = _candidates(store)
    store.set_decision(edited, "rejected", edited_text="A reviewer's edit")
    store.set_decision(kept, "approved")
    kept_at = store.get_decision(kept).decided_at  # type: ignore[union-attr]
    assert store.bulk_decide(dataset_id, ReviewFilter(), "approved") == 2  # edited and fresh; kept already was
    assert store.get_decision(kept).decided_at == kept_at  # type: ignore[union-attr]
    decision = store.get_decision(edited)
    assert decision is not None and (decision.status, decision.edited_text) == ("approved", "A reviewer's edit")
    assert store.get_decision(fresh).status == "approved"  # type: ignore[union-attr]
    assert store.bulk_decide(dataset_id, ReviewFilter(), "approved") == 0
    assert store.bulk_decide(dataset_id, ReviewFilter(status="approved"), "pending") == 3
    assert store.dataset_counts(dataset_id).decisions.pending == 3


def test_add_candidates_counts_new_rows_from_the_insert_without_counting_the_table(store: Store) -> None:
    dataset_id, ids = _candidates(store, n=2)  # two stored already
    example = next(store.iter_examples(dataset_id))[0]
    batch = [
        Candidate(
            id=i, dataset_id=dataset_id, example_id=example.id, augmenter="t", target_field="instruction", text="x"
        )
        for i in [*ids, "new1", "new2", "new3"]
    ]
    seen: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *a: seen.append(a[2].lower()))
    assert store.add_candidates(batch) == 3
    assert store.add_candidates(batch) == 0
    assert not any("count(" in statement for statement in seen)  # no scan of the whole table per batch


def test_failed_candidates_are_not_pending(store: Store) -> None:
    dataset_id, (decided, _, _) = _candidates(store)
    example = next(store.iter_examples(dataset_id))[0]
    store.add_candidates(
        [
            Candidate(
                id=f"f{i}",
                dataset_id=dataset_id,
                example_id=example.id,
                augmenter="t",
                target_field="instruction",
                text="",
                status="failed",
                error="timeout",
            )
            for i in range(2)
        ]
    )
    store.set_decision(decided, "approved")
    counts = store.dataset_counts(dataset_id)
    assert counts.by_augmenter == {"t": {"ok": 3, "failed": 2}} and counts.candidates == 5
    assert counts.decisions == DecisionCounts(approved=1, rejected=0, pending=2)


def test_flag_filter_matches_a_kind_and_no_wildcard_or_quote_breaks_it(store: Store) -> None:
    import pytest

    from augment_core.errors import InputError
    from augment_core.review import ReviewFilter

    dataset_id, ids = _candidates(store, n=4)
    flags = [
        [Flag("entity", "'Paris'", "missing")],
        [Flag("code", '`"number 5"`', "missing"), Flag("url", "http://x/a_b%20c", "added")],  # "number" in an item
        [Flag("negation", "", "added"), Flag("number", "5", "missing")],
        [],
    ]
    store.save_scores(
        [
            Score(
                candidate_id=cid,
                semantic_similarity=0.9,
                is_valid=True,
                in_optimal_band=True,
                length_ratio=1.0,
                unique_words=0,
                flags=f,
            )
            for cid, f in zip(ids, flags, strict=True)
        ]
    )

    def matching(flag: str) -> list[str]:
        return [r.candidate.id for r in store.review_page(dataset_id, ReviewFilter(flag=flag))]

    assert matching("entity") == [ids[0]]
    assert matching("number") == [ids[2]]
    assert matching("negation") == [ids[2]]
    assert matching("code") == matching("url") == [ids[1]]
    assert matching("date") == []
    assert matching("any") == ids[:3] and matching("none") == [ids[3]]
    with pytest.raises(InputError, match="unknown flag kind '%'"):
        matching("%")
    assert store.review_facets(dataset_id)["flag_kinds"][:2] == ["number", "quantity"]


def test_an_empty_edit_is_refused_and_an_earlier_edit_kept(store: Store) -> None:
    import pytest

    from augment_core.errors import InputError

    _, (cid, *_rest) = _candidates(store)
    store.set_decision(cid, "approved", edited_text="A reviewer's edit")
    for empty in ("", "  \n"):
        with pytest.raises(InputError, match="the edited text is empty"):
            store.set_decision(cid, "approved", edited_text=empty)
    decision = store.get_decision(cid)
    assert decision is not None and decision.edited_text == "A reviewer's edit"
