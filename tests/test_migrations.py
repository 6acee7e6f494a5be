"""Migrations: a database made by an older version opens, upgraded, with every record in place."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from augment_core.errors import StoreError
from augment_core.records import DecisionStatus, Flag
from augment_core.review import ReviewFilter
from augment_core.store import Store, migrate
from augment_core.store.schema import metadata

LEGACY = Path(__file__).parent / "data" / "legacy_2021677.db"  # made by tests/data/make_legacy_db.py


def test_head_is_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == migrate.HEAD


def test_a_database_made_before_migrations_opens_with_every_record(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    shutil.copy(LEGACY, path)
    store = Store(f"sqlite:///{path}")
    dataset = store.get_dataset("legacy")
    assert dataset is not None and dataset.example_count == 3
    examples = [e for batch in store.iter_examples(dataset.id) for e in batch]
    assert [e.record["id"] for e in examples] == ["r0", "r1", "r2"]
    counts = store.dataset_counts(dataset.id)
    assert counts.candidates == 5 and counts.scored == 3
    assert counts.by_augmenter == {"paraphrase": {"ok": 2, "failed": 1}, "refusal": {"ok": 1, "failed": 0},
                                   "templates": {"ok": 1, "failed": 0}}  # fmt: skip
    # The flags, stored as text before, are rows now, split into kind, item and change.
    score = store.get_score("c2")
    assert score is not None and score.flags == [
        Flag("number", "700-1000", "missing"),
        Flag("number", "700", "added"),
        Flag("quantity", "700 grams", "changed to 700 kilograms"),
    ]
    assert [r.candidate.id for r in store.review_page(dataset.id, ReviewFilter(flag="quantity"))] == ["c2"]
    decision = store.get_decision("c0")
    assert decision is not None and decision.status == DecisionStatus.APPROVED
    assert decision.edited_text == "Please share three tips for staying healthy."
    assert store.get_setting("quality.valid_window") == [0.7, 0.98]
    assert store.cache_get("k" * 64) == {"text": "cached reply"}
    store.close()
    # Upgraded once: the file now has the current tables and says so.
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(migrate.HEAD,)]
        assert "flags" not in {row[1] for row in conn.execute("PRAGMA table_info(scores)")}


def _tables(engine: sa.Engine) -> dict[str, tuple[dict[str, tuple[str, bool]], set[str]]]:
    """Per table: its columns (name -> type affinity, nullable) and index names, as the database has them."""
    inspector = sa.inspect(engine)
    return {
        name: (
            {c["name"]: (str(c["type"]).split("(")[0], bool(c["nullable"])) for c in inspector.get_columns(name)},
            {str(i["name"]) for i in inspector.get_indexes(name)},
        )
        for name in inspector.get_table_names()
    }


def test_a_new_database_gets_the_tables_every_migration_would_make(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'new.db'}")  # made from schema.py and stamped HEAD
    created = _tables(store.engine)
    for table in metadata.sorted_tables:
        assert set(created[table.name][0]) == {c.name for c in table.columns}, table.name
        assert {i.name for i in table.indexes} <= created[table.name][1], table.name
    store.close()
    Store(f"sqlite:///{tmp_path / 'new.db'}").close()  # opening again: at HEAD, nothing to do
    with sqlite3.connect(tmp_path / "new.db") as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(migrate.HEAD,)]
    # The other road: every migration from the first, through Alembic, on an empty file.
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    with engine.begin() as conn:
        migrate.run_migrations(conn, "migrated.db")
    assert _tables(engine) == created
    engine.dispose()


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'future.db'}"
    Store(url).close()
    with sqlite3.connect(tmp_path / "future.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError, match="revision 9999, newer than this version knows"):
        Store(url)


def test_decisions_stored_before_become_the_responses_of_the_local_reviewer(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    shutil.copy(LEGACY, path)
    store = Store(f"sqlite:///{path}")
    responses = store.get_responses("c0")
    assert [(r.reviewer, r.status, r.edited_text) for r in responses] == [
        ("local", DecisionStatus.APPROVED, "Please share three tips for staying healthy.")
    ]
    assert [(r.reviewer, r.status) for r in store.get_responses("c2")] == [("local", DecisionStatus.REJECTED)]
    # The derived decision is today's: a new response by another reviewer wins under the default rule.
    assert store.set_decision("c2", "approved", reviewer="ann").status == DecisionStatus.APPROVED
    store.close()
